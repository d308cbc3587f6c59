"""Reads of tenant data that views and the API share."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import DomainReservation, HostClaim, Membership, Tenant
from .principals import as_principal


def tenant_for(principal, slug: str) -> Tenant:
    """The tenant with this slug if the principal is a member; otherwise the same 404 as a missing one."""
    tenant = Tenant.objects.restrict(principal, "view").filter(slug=slug).first()
    if tenant is None:
        raise Http404
    return tenant


def memberships_of(user):
    """The user's memberships with their tenants, for the header's tenant switcher."""
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def names_of(tenant: Tenant) -> dict:
    """The domains operators reserved for the tenant and the hosts it has claimed."""
    return {"domains": list(DomainReservation.objects.filter(tenant=tenant).order_by("domain")),
            "hosts": list(HostClaim.objects.filter(tenant=tenant).order_by("host"))}


def tenant_view(view):
    """Base of every tenant page under /t/<tenant_slug>/: sign-in required, membership required.

    Sets request.tenant and request.role; a non-member (operators included) gets a 404.
    """

    @login_required
    @wraps(view)
    def wrapper(request, tenant_slug, *args, **kwargs):
        request.tenant = tenant_for(request.user, tenant_slug)
        request.role = as_principal(request).role_in(request.tenant.pk)
        return view(request, *args, **kwargs)

    return wrapper
