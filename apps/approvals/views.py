"""Approval pages under /t/<tenant_slug>/approvals/: the queue, one request live, the decision pages
(behind re-authentication), the policies and the freeze windows. Views parse input, call one service
or selector, and render."""

from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.models import promotion_order
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from . import selectors
from .choices import RequestState, Verdict
from .eligibility import refusal_text, waiting_on
from .forms import WEEKDAYS, DecisionForm, FreezeWindowForm, PolicyForm, WithdrawForm
from .models import ApprovalPolicy, ChangeRequest, FreezeWindow
from .selectors import stage_progress, waiting_for
from .services import configuration, requests

LIST_LENGTH = 100
SECTION = "approvals"


def _change_request(request, pk: int) -> ChangeRequest:
    row = selectors.change_request_for(request, tenant=request.tenant, pk=pk)
    if row is None:
        raise Http404
    return row


def _back(request, change_request):
    """To the request's page, or to the page the decision was made from (the deployment's) when it says so."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("approvals:detail", tenant_slug=request.tenant.slug, pk=change_request.pk)


# --- The queue and one request -----------------------------------------------------------------


@tenant_view
def queue(request):
    """What waits for me, then every request of the tenant (optionally of one state)."""
    state = request.GET.get("state", "")
    rows = selectors.change_request_list_for(
        request, tenant=request.tenant, state=state if state in RequestState.values else ""
    )
    context = {
        "waiting": waiting_for(request.user, [request.tenant.pk]),
        "requests": rows[:LIST_LENGTH],
        "state": state,
        "states": RequestState.choices,
    }
    return render_tenant_page(request, "approvals/queue.html", context, section=SECTION)


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs for a coloured display."""

    def tone(line: str) -> str:
        if line.startswith(("+++", "---")):
            return "fw-semibold"
        if line.startswith("@@"):
            return "text-info-emphasis"
        return {
            "+": "diff-add text-success-emphasis bg-success-subtle",
            "-": "diff-del text-danger-emphasis bg-danger-subtle",
        }.get(line[:1], "")

    return [(tone(line), line) for line in (diff or "").splitlines()]


def _request_context(request, change_request: ChangeRequest) -> dict:
    policy = policy_for(ChangeRequest)
    change = change_request.change or {}
    return {
        "change_request": change_request,
        "stages": stage_progress(change_request),
        "waiting_on": waiting_on(change_request),
        "change": change,
        "diff": diff_lines(change.get("manifest_diff", "")),
        "can_decide": policy.can_decide(request, change_request),
        "can_withdraw": change_request.is_open and policy.can_withdraw(request, change_request),
    }


@tenant_view
def detail(request, pk):
    change_request = _change_request(request, pk)
    return render_tenant_page(
        request, "approvals/detail.html", _request_context(request, change_request), section=SECTION
    )


@tenant_view
def progress(request, pk):
    """The request's live part alone; the page fetches it again when the request changes."""
    change_request = _change_request(request, pk)
    context = {"tenant": request.tenant, **_request_context(request, change_request)}
    return render(request, "approvals/_request.html", context)


def deciding(view):
    """A decision page: a member who may decide at all (developer and up) must re-authenticate (with
    MFA when enrolled) first; everyone else gets the same 404 as a missing page."""
    confirmed = reauthentication_required(view)

    @tenant_view
    @wraps(view)
    def wrapper(request, pk, **kwargs):
        change_request = _change_request(request, pk)
        allowed = policy_for(ChangeRequest).allows(request, "decide", request.tenant)
        require_role(request, allowed, needs=Role.DEVELOPER, doing="Deciding on change requests")
        return confirmed(request, change_request, **kwargs)

    return wrapper


@deciding
def decide(request, change_request, verdict):
    """GET: the confirmation with a comment field. POST: the decision; a refusal is shown, nothing changes."""
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            requests.change_request_decide(
                actor=as_principal(request),
                change_request=change_request,
                verdict=verdict,
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            done = "Approved" if verdict == Verdict.APPROVE else "Rejected"
            messages.success(request, f"{done}: change request {change_request.pk}.")
        return _back(request, change_request)
    context = {
        "form": form,
        "verdict": verdict,
        "refused": refusal_text(request, change_request),
        **_request_context(request, change_request),
    }
    return render_tenant_page(request, "approvals/decide.html", context, section=SECTION)


@require_POST
@tenant_view
def withdraw(request, pk):
    change_request = _change_request(request, pk)
    form = WithdrawForm(request.POST)
    form.is_valid()
    try:
        requests.change_request_withdraw(
            actor=as_principal(request), change_request=change_request, reason=form.cleaned_data.get("reason", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Change request {change_request.pk} withdrawn.")
    return _back(request, change_request)


# --- Policies ----------------------------------------------------------------------------------


@tenant_view
def policies(request):
    """Each environment with the policy that governs it (its own or the tenant default)."""
    rows = selectors.approval_policy_list_for(request, tenant=request.tenant)
    by_environment = {policy.environment_id: policy for policy in rows}
    rules = policy_for(ApprovalPolicy)
    may_add = rules.can_add(request, request.tenant)
    for policy in rows:  # one that requires approval is the owners' to change (ApprovalPolicyPolicy)
        policy.may_change = may_add and rules.can_change(request, policy)
    default = by_environment.get(None)
    # An environment without a policy of its own is set by whoever may change the default governing it.
    may_set = may_add and (default is None or default.may_change)
    environments = [
        (environment, by_environment.get(environment.pk))
        for environment in request.tenant.environments.order_by(*promotion_order())
    ]
    context = {"environments": environments, "default_policy": default, "may_add": may_add, "may_set": may_set}
    return render_tenant_page(request, "approvals/policies.html", context, section=SECTION)


@tenant_view
def policy_edit(request, environment):
    """Set an environment's policy (environment 0: the tenant default) with up to five stages."""
    allowed = policy_for(ApprovalPolicy).can_add(request, request.tenant)
    require_role(request, allowed, needs=Role.ADMIN, doing="Changing approval policies")
    target = None
    if environment:
        target = request.tenant.environments.filter(pk=environment).first()
        if target is None:
            raise Http404
    policy = selectors.approval_policy_of(tenant=request.tenant, environment=target)
    governing = policy or (selectors.governing_policy(target) if target is not None else None)
    if governing is not None:
        changeable = policy_for(ApprovalPolicy).can_change(request, governing)
        require_role(request, changeable, needs=Role.OWNER, doing="Changing what a policy requiring approval governs")
    form = PolicyForm(request.POST or None, tenant=request.tenant, initial=PolicyForm.initial_for(policy))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            configuration.approval_policy_save(
                actor=as_principal(request),
                tenant=request.tenant,
                environment=target,
                requires_approval=data["requires_approval"],
                allow_self_approval=data["allow_self_approval"],
                expire_after_hours=data["expire_after_hours"],
                stages=form.stage_list(),
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"Approval policy of {target.name if target else 'the tenant'} saved.")
            return redirect("approvals:policies", tenant_slug=request.tenant.slug)
    context = {"form": form, "target": target, "policy": policy}
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "approvals/policy_edit.html", context, section=SECTION, status=status)


def _remove(request, model, pk: int, remove, done: str, back: str):
    """Delete one of the tenant's rows through its service; a refusal becomes a message."""
    row = selectors.tenant_row_for(request, model, tenant=request.tenant, pk=pk)
    if row is None:
        raise Http404
    try:
        remove(row)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(row=row))
    return redirect(back, tenant_slug=request.tenant.slug)


@require_POST
@tenant_view
def policy_delete(request, pk):
    return _remove(
        request,
        ApprovalPolicy,
        pk,
        lambda policy: configuration.approval_policy_delete(actor=as_principal(request), policy=policy),
        "Approval policy removed.",
        "approvals:policies",
    )


# --- Freeze windows ----------------------------------------------------------------------------


def _freezes_page(request, form, status=200):
    rows = selectors.freeze_window_list_for(request, tenant=request.tenant)
    for window in rows:
        window.days = ", ".join(dict(WEEKDAYS)[day] for day in window.weekdays)
        window.may_remove = policy_for(FreezeWindow).can_delete(request, window)
    context = {"windows": rows, "form": form, "may_change": policy_for(FreezeWindow).can_add(request, request.tenant)}
    return render_tenant_page(request, "approvals/freezes.html", context, section=SECTION, status=status)


@tenant_view
def freezes(request):
    return _freezes_page(request, FreezeWindowForm(tenant=request.tenant))


@require_POST
@tenant_view
def freeze_new(request):
    form = FreezeWindowForm(request.POST, tenant=request.tenant)
    window = form.submit(configuration.freeze_window_create, actor=as_principal(request), tenant=request.tenant)
    if window is not None:
        messages.success(request, f"Freeze “{window.name}” added.")
        return redirect("approvals:freezes", tenant_slug=request.tenant.slug)
    return _freezes_page(request, form, status=400)


@require_POST
@tenant_view
def freeze_delete(request, pk):
    return _remove(
        request,
        FreezeWindow,
        pk,
        lambda window: configuration.freeze_window_delete(actor=as_principal(request), window=window),
        "Freeze “{row.name}” removed.",
        "approvals:freezes",
    )
