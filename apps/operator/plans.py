"""Operator pages for rate-limit plans: list, create and change them, and put a tenant on one.

The pages only parse input and call the apikeys services, which check the operator and write the audit.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.apikeys.models import Plan
from apps.apikeys.selectors import plans_with_tenant_counts
from apps.apikeys.services import PLAN_FIELDS, plan_create, plan_update, tenant_plan_assign
from apps.core.errors import ApplicationError
from apps.core.operators import operator_required
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal

from .plan_forms import PlanForm, TenantPlanForm


@operator_required
def plan_list(request):
    plans = plans_with_tenant_counts()
    return render(request, "operator/plans.html", {"plans": plans})


@operator_required
def plan_new(request):
    return _plan_form(request, None)


@operator_required
def plan_edit(request, pk):
    return _plan_form(request, get_object_or_404(Plan, pk=pk))


def _plan_form(request, plan: Plan | None):
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in PLAN_FIELDS}
        try:
            if plan is None:
                saved = plan_create(operator=as_principal(request), **fields)
            else:
                saved = plan_update(operator=as_principal(request), plan=plan, **fields)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"Plan {saved.name} saved.")
            return redirect("operator:plans")
    status = 400 if request.method == "POST" else 200
    tenants = plan.assignments.select_related("tenant").order_by("tenant__slug") if plan else []
    return render(
        request, "operator/plan_form.html", {"form": form, "plan": plan, "assignments": tenants}, status=status
    )


@operator_required
@require_POST
def tenant_plan(request, slug):
    tenant = get_object_or_404(Tenant, slug=slug)
    form = TenantPlanForm(request.POST)
    if form.is_valid():
        try:
            tenant_plan_assign(operator=as_principal(request), tenant=tenant, plan=form.cleaned_data["plan"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            plan = form.cleaned_data["plan"]
            messages.success(request, f"{tenant.name} is now on {'plan ' + plan.name if plan else 'the default plan'}.")
    else:
        messages.error(request, "Choose one of the plans.")
    return redirect("operator:tenant", slug=tenant.slug)
