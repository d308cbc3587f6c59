"""Tenant pages: overview, members and invitations, environments and quotas; creating a tenant and
accepting an invitation. Views parse input, call one service, and render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for

from . import selectors, services
from .backlog import backlog_of
from .forms import EnvironmentForm, InvitationForm, MemberRoleForm, QuotaIncreaseForm, ServiceForm, TenantCreateForm
from .models import Environment, Invitation, Membership
from .pages import render_tenant_page, tenant_view
from .principals import as_principal
from .quotas import usage_report
from .roles import Role, at_least


def _failed(request) -> int:
    """A page rendered in answer to a POST shows a refusal: 400."""
    return 400 if request.method == "POST" else 200


# --- Creating a tenant and the overview ---------------------------------------------------------


@login_required
def tenant_create(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_create(actor=as_principal(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{tenant.name} is ready, with dev, staging and prod environments.")
            return redirect("tenants:overview", tenant_slug=tenant.slug)
    return render(request, "tenants/create.html", {"form": form}, status=_failed(request))


@tenant_view
def overview(request):
    tenant, principal = request.tenant, as_principal(request)
    context = {
        "environments": selectors.environment_list_for(principal, tenant=tenant),
        "member_count": selectors.membership_list_for(principal, tenant=tenant).count(),
        "usage": usage_report(tenant),
    }
    return render_tenant_page(request, "tenants/overview.html", context, section="overview")


# --- Members and invitations --------------------------------------------------------------------


def _grantable_roles(request) -> list[tuple[str, str]]:
    """The roles this viewer may hand out: admins everything below owner, owners everything."""
    policy = policy_for(Invitation)
    return [(value, label) for value, label in Role.choices if policy.can_invite(request, request.tenant, value)]


def _members_page(request, *, invite_form=None, refused=None, refused_row=None):
    tenant = request.tenant
    context = {
        "memberships": _memberships(request),
        "invitations": selectors.invitation_list_for(as_principal(request), tenant=tenant, open_only=True),
        "invite_form": invite_form or InvitationForm(roles=_grantable_roles(request)),
        "role_choices": _grantable_roles(request),
        "refused": refused,
        "refused_row": refused_row,
        "now": timezone.now(),
    }
    return render_tenant_page(request, "tenants/members.html", context, section="members", status=_failed(request))


def _memberships(request):
    return selectors.membership_list_for(as_principal(request), tenant=request.tenant)


def _membership(request, **lookup) -> Membership:
    return get_object_or_404(_memberships(request), **lookup)


def _to_members(request):
    return redirect("tenants:members", tenant_slug=request.tenant.slug)


@tenant_view
def members(request):
    return _members_page(request)


@tenant_view
@require_POST
def invite(request):
    form = InvitationForm(request.POST, roles=Role.choices)
    if form.is_valid():
        try:
            invitation, _token = services.invitation_create(
                actor=as_principal(request), tenant=request.tenant, **form.cleaned_data
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return _to_members(request)
    return _members_page(request, invite_form=form, refused=form)


@tenant_view
@require_POST
def member_role(request, pk):
    membership = _membership(request, pk=pk)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.member_change_role(actor=as_principal(request), membership=membership, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
            return _to_members(request)
    return _members_page(request, refused=form, refused_row=membership.pk)


@tenant_view
@require_POST
def member_remove(request, pk):
    membership = _membership(request, pk=pk)
    form = ServiceForm(request.POST)
    try:
        services.member_remove(actor=as_principal(request), membership=membership)
    except ApplicationError as exc:
        form.add_application_error(exc)
        return _members_page(request, refused=form, refused_row=membership.pk)
    messages.success(request, f"{membership.user.email} no longer has access to {request.tenant.name}.")
    return _to_members(request)


@tenant_view
@require_POST
def member_leave(request):
    membership = _membership(request, user=request.user)
    form = ServiceForm(request.POST)
    try:
        services.member_leave(actor=as_principal(request), membership=membership)
    except ApplicationError as exc:
        form.add_application_error(exc)
        return _members_page(request, refused=form, refused_row=membership.pk)
    messages.success(request, f"You left {request.tenant.name}.")
    return redirect("home")


@tenant_view
@require_POST
def invitation_revoke(request, pk):
    invitation = get_object_or_404(selectors.invitation_list_for(as_principal(request), tenant=request.tenant), pk=pk)
    form = ServiceForm(request.POST)
    try:
        services.invitation_revoke(actor=as_principal(request), invitation=invitation)
    except ApplicationError as exc:
        form.add_application_error(exc)
        return _members_page(request, refused=form)
    messages.success(request, f"The invitation for {invitation.email} is withdrawn.")
    return _to_members(request)


# --- Accepting an invitation (outside any tenant: the user is not a member yet) -----------------


@login_required
def invitation_accept(request, token):
    if request.method == "POST":
        try:
            membership = services.invitation_accept(user=request.user, token=token)
        except ApplicationError as exc:
            return render(request, "tenants/invitation.html", {"problem": exc.message}, status=exc.status)
        messages.success(request, f"Welcome to {membership.tenant.name}.")
        return redirect("tenants:overview", tenant_slug=membership.tenant.slug)
    try:
        invitation = services.invitation_by_token(token)
    except ApplicationError as exc:
        return render(request, "tenants/invitation.html", {"problem": exc.message}, status=exc.status)
    try:
        services.invitation_check(invitation=invitation, user=request.user)
    except ApplicationError as exc:
        return render(
            request, "tenants/invitation.html", {"invitation": invitation, "problem": exc.message}, status=exc.status
        )
    return render(request, "tenants/invitation.html", {"invitation": invitation})


@login_required
@require_POST
def invitation_accept_pending(request, pk):
    """Accept an invitation listed on the home page or in the header."""
    try:
        membership = services.invitation_accept_pending(user=request.user, invitation_id=pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("home")
    messages.success(request, f"Welcome to {membership.tenant.name}.")
    return redirect("tenants:overview", tenant_slug=membership.tenant.slug)


# --- Environments -------------------------------------------------------------------------------


def _environment(request, pk: int) -> Environment:
    return get_object_or_404(selectors.environment_list_for(as_principal(request), tenant=request.tenant), pk=pk)


def _to_environments(request):
    return redirect("tenants:environments", tenant_slug=request.tenant.slug)


@tenant_view
def environments(request):
    form = EnvironmentForm(request.POST or None)
    environment = form.submit(services.environment_create, actor=as_principal(request), tenant=request.tenant)
    if environment is not None:
        messages.success(request, f"Environment {environment.name} created in namespace {environment.namespace}.")
        return _to_environments(request)
    context = {
        "environments": selectors.environment_list_for(as_principal(request), tenant=request.tenant, placements=True),
        "form": form,
        "refused": form,
        **selectors.names_of(request.tenant),
    }
    return render_tenant_page(
        request, "tenants/environments.html", context, section="environments", status=_failed(request)
    )


@tenant_view
def environment_edit(request, pk):
    environment = _environment(request, pk)
    form = EnvironmentForm(request.POST or None, initial={"name": environment.name, "kind": environment.kind})
    if request.method == "POST" and form.is_valid():
        try:
            services.environment_update(actor=as_principal(request), environment=environment, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
            environment.refresh_from_db()  # the service may have set the refused name on the instance
        else:
            messages.success(request, f"Environment {environment.name} saved.")
            return _to_environments(request)
    context = {"environment": environment, "form": form, "refused": form}
    return render_tenant_page(
        request, "tenants/environment_edit.html", context, section="environments", status=_failed(request)
    )


@tenant_view
def environment_delete(request, pk):
    environment = _environment(request, pk)
    form = ServiceForm(request.POST or None)
    if request.method == "POST":
        try:
            services.environment_delete(actor=as_principal(request), environment=environment)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"Environment {environment.name} deleted.")
            return _to_environments(request)
    context = {"environment": environment, "refused": form}
    return render_tenant_page(
        request, "tenants/environment_delete.html", context, section="environments", status=_failed(request)
    )


# --- Quotas -------------------------------------------------------------------------------------


@tenant_view
def quotas(request):
    """The usage report; owners and admins also ask for more here (POST), which operators decide on."""
    may_ask = at_least(as_principal(request).role_in(request.tenant.pk), Role.ADMIN)
    form = QuotaIncreaseForm(request.POST or None, tenant=request.tenant) if may_ask else None
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            change_request = services.quota_request_increase(
                actor=as_principal(request),
                tenant=request.tenant,
                resource=data["resource"],
                limit=data["limit"],
                environment=data["environment"],
                justification=data["justification"],
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(
                request, f"Asked for more: change request {change_request.pk} waits for the platform operators."
            )
            return redirect("tenants:quotas", tenant_slug=request.tenant.slug)
    context = {"usage": usage_report(request.tenant), "backlog": backlog_of(request.tenant), "form": form}
    return render_tenant_page(request, "tenants/quotas.html", context, section="quotas", status=_failed(request))
