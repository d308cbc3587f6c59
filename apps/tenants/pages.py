"""The frame of every tenant page under /t/<tenant_slug>/, for every app's views.

Tenant pages check membership and show the tenant's sub-navigation; that is tenancy, so it lives in
the tenants app, in a module of its own that other apps' views import rather than reaching into
tenants' views or selectors.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .principals import as_principal
from .selectors import tenant_for


def tenant_view(view):
    """Base of every tenant page: sign-in required, membership required.

    Sets request.tenant and request.role; a non-member (operators included) gets a 404.
    """

    @login_required
    @wraps(view)
    def wrapper(request, tenant_slug, *args, **kwargs):
        request.tenant = tenant_for(request.user, tenant_slug)
        request.role = as_principal(request).role_in(request.tenant.pk)
        return view(request, *args, **kwargs)

    return wrapper


def render_tenant_page(request, template: str, context: dict, *, section: str, status: int = 200):
    """Render a page under /t/<slug>/ with the tenant, the viewer's role and the sub-navigation's section."""
    context = {"tenant": request.tenant, "role": request.role, "section": section, **context}
    return render(request, template, context, status=status)
