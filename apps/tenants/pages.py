"""The frame of every tenant page under /t/<tenant_slug>/, for every app's views.

Tenant pages check membership and show the tenant's sub-navigation; that is tenancy, so it lives in
the tenants app, in a module of its own that other apps' views import rather than reaching into
tenants' views or selectors.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.errors import PERMISSION_DENIED, TENANT_SUSPENDED, Refusal

from .principals import as_principal
from .roles import Role, at_least
from .selectors import tenant_for


def tenant_view(view):
    """Base of every tenant page: sign-in required, membership required.

    Sets request.tenant and request.role; a non-member (operators included) gets a 404.
    """

    @login_required
    @wraps(view)
    def wrapper(request, tenant_slug, *args, **kwargs):
        principal = as_principal(request)  # the request's own: its roles are read once for the page
        request.tenant = tenant_for(principal, tenant_slug)
        request.role = principal.role_in(request.tenant.pk)
        return view(request, *args, **kwargs)

    return wrapper


def render_tenant_page(request, template: str, context: dict, *, section: str, status: int = 200):
    """Render a page under /t/<slug>/ with the tenant, the viewer's role and the sub-navigation's section."""
    context = {"tenant": request.tenant, "role": request.role, "section": section, **context}
    return render(request, template, context, status=status)


def back_to(request, *fallback, **kwargs):
    """After a button's POST: to the tenant page it was pressed on (the form's `next`, a path under this
    tenant on this host), else to `redirect(*fallback, **kwargs)`."""
    back = request.POST.get("next", "")
    if back.startswith(f"/t/{request.tenant.slug}/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect(*fallback, **kwargs)


def refusal_text(tenant, role: str | None, *, needs: str, doing: str) -> str:
    """Why a member cannot do something, in their words: the organization is suspended (when the role
    would do), or the role it needs beside the one they have."""
    if at_least(role, needs) and not tenant.is_active:
        return (
            f"{tenant.name} is suspended: you can look, but nothing changes until the platform operators reactivate it."
        )
    return f"{doing} needs the {Role(needs).label.lower()} role or above; your role in {tenant.name} is {role}."


def require_role(request, allowed: bool, *, needs: str, doing: str) -> None:
    """Refuse a tenant page with the one 403 that says why (see apps/core/views.permission_denied).

    Only for a member inside their own tenant: a non-member never gets here (tenant_view's 404), and
    another tenant's rows stay 404s."""
    if allowed:
        return
    tenant, role = request.tenant, request.role
    suspended = at_least(role, needs) and not tenant.is_active
    raise Refusal(
        refusal_text(tenant, role, needs=needs, doing=doing),
        code=TENANT_SUSPENDED if suspended else PERMISSION_DENIED,
        needed_role=str(needs),
        role=str(role),
    )
