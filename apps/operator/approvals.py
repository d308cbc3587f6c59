"""Operator operator: every tenant's pending change requests, oldest first with their age against the
review SLA, and the platform's approval rules that every tenant policy keeps."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.approvals.choices import Verdict
from apps.approvals.eligibility import decided_by_operators
from apps.approvals.forms import ApprovalRulesForm, DecisionForm
from apps.approvals.models import ApprovalRules
from apps.approvals.selectors import change_requests_of_every_tenant, pending_change_requests
from apps.approvals.services.configuration import approval_rules_update
from apps.approvals.services.requests import change_request_decide
from apps.core.errors import ApplicationError
from apps.core.operators import operator_required
from apps.tenants.principals import as_principal

LIST_LENGTH = 200
RULE_FIELDS = (
    "production_requires_approval",
    "min_quorum",
    "allow_self_approval",
    "max_pending_hours",
    "review_sla_hours",
)


def _page(request, form, status=200):
    rules, now = ApprovalRules.current(), timezone.now()
    rows = list(pending_change_requests()[:LIST_LENGTH])
    for row in rows:
        row.age = now - row.created_at
        row.for_operators = decided_by_operators(row)
        row.over_sla = row.age.total_seconds() > rules.review_sla_hours * 3600
    context = {"requests": rows, "rules": rules, "form": form, "over_sla": sum(row.over_sla for row in rows)}
    return render(request, "operator/approvals.html", context, status=status)


@operator_required
def approvals(request):
    rules = ApprovalRules.current()
    return _page(request, ApprovalRulesForm(initial={field: getattr(rules, field) for field in RULE_FIELDS}))


@require_POST
@operator_required
def approval_rules(request):
    form = ApprovalRulesForm(request.POST)
    if form.is_valid():
        try:
            approval_rules_update(operator=as_principal(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, "Approval rules saved.")
            return redirect("operator:approvals")
    return _page(request, form, status=400)


@operator_required
@reauthentication_required
def decide(request, pk, verdict):
    """A request that waits for the platform (a quota increase): GET confirms with a comment, POST decides."""
    change_request = get_object_or_404(change_requests_of_every_tenant(), pk=pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change_request_decide(
                actor=as_principal(request),
                change_request=change_request,
                verdict=verdict,
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            done = "Approved" if verdict == Verdict.APPROVE else "Rejected"
            messages.success(request, f"{done}: change request {change_request.pk} ({change_request.tenant.slug}).")
        return redirect("operator:approvals")
    context = {"form": form, "verdict": verdict, "change_request": change_request}
    return render(request, "operator/approval_decide.html", context)
