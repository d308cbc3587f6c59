"""Reads of tenant data that views and the API share."""

from django.http import Http404

from .models import DomainReservation, HostClaim, Membership, Tenant


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
