"""Reads of tenant data that views and the API share."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from .backlog import Backlog, backlogs_of_platform
from .models import DomainReservation, Environment, HostClaim, Invitation, Membership, Quota, Tenant
from .principals import Principal, as_principal
from .roles import Role


def tenant_for(principal, slug: str) -> Tenant:
    """The tenant with this slug if the principal is a member; otherwise the same 404 as a missing one."""
    tenant = Tenant.objects.restrict(principal, "view").filter(slug=slug).first()
    if tenant is None:
        raise Http404
    return tenant


def referable(model, principal) -> QuerySet:
    """Rows of a tenant-owned `model` a write may name (a deploy's environment): those of the principal's
    tenants, whatever its key's scopes. This only makes the row nameable; the write's policy decides."""
    return model.objects.filter(tenant_id__in=as_principal(principal).tenant_ids(Role.VIEWER))


def memberships_of(user):
    """The user's memberships with their tenants, for the header's tenant switcher."""
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def invitations_pending_for(user) -> QuerySet[Invitation]:
    """Open, unexpired invitations to the user's verified email addresses, from tenants they are not in
    yet: shown on the home page and in the header, and accepted there without the emailed link."""
    verified = EmailAddress.objects.filter(user=user, verified=True).values(address=Lower("email"))
    return (
        Invitation.objects.filter(
            email__in=verified,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .exclude(tenant__memberships__user=user)
        .select_related("tenant", "invited_by")
        .order_by("-created_at")
    )


def names_of(tenant: Tenant) -> dict:
    """The domains operators reserved for the tenant and the hosts it has claimed."""
    return {
        "domains": list(DomainReservation.objects.filter(tenant=tenant).order_by("domain")),
        "hosts": list(HostClaim.objects.filter(tenant=tenant).order_by("host")),
    }


def environment_list_for(principal: Principal, *, tenant: Tenant, placements: bool = False) -> QuerySet[Environment]:
    """The tenant's environments the principal may see; `placements` joins each one's cluster placement."""
    environments = Environment.objects.restrict(principal, "view").filter(tenant=tenant)
    # The reverse one-to-one by its string path: tenants must not import the clusters app above it.
    return environments.select_related("placement__cluster") if placements else environments.select_related("tenant")


def membership_list_for(principal: Principal, *, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's memberships the principal may see, with their users."""
    return Membership.objects.restrict(principal, "view").filter(tenant=tenant).select_related("user", "tenant")


def membership_of(principal: Principal, *, tenant: Tenant) -> Membership:
    """The principal's own membership of a tenant it was already allowed to see."""
    return Membership.objects.get(tenant=tenant, user=principal.user)


def invitation_list_for(principal: Principal, *, tenant: Tenant, open_only: bool = False) -> QuerySet[Invitation]:
    """The tenant's invitations the principal may see; `open_only` leaves out accepted and withdrawn ones."""
    invitations = Invitation.objects.restrict(principal, "view").filter(tenant=tenant)
    if open_only:
        invitations = invitations.filter(accepted_at=None, revoked_at=None).select_related("invited_by")
    return invitations.select_related("tenant")


# --- The operator console's reads: every tenant, explicitly (its views decided who asks) -------------


def tenants_of_the_platform(*, search: str = "") -> QuerySet[Tenant]:
    """Every tenant by name, with its member and environment counts; `search` matches the name or slug."""
    tenants = Tenant.objects.annotate(
        member_count=Count("memberships", distinct=True), environment_count=Count("environments", distinct=True)
    ).order_by("name")
    return tenants.filter(Q(name__icontains=search) | Q(slug__icontains=search)) if search else tenants


def tenant_choices() -> QuerySet[Tenant]:
    """Every tenant by name, for the operator's forms and serializers that pick one."""
    return Tenant.objects.order_by("name")


def quotas_of(tenant: Tenant) -> QuerySet[Quota]:
    """The tenant's quotas, tenant-wide and per environment."""
    return Quota.objects.filter(tenant=tenant)


def quotas_of_every_tenant(*, tenant_slug: str | None = None) -> QuerySet[Quota]:
    """Every quota, newest first; `tenant_slug` narrows to one tenant."""
    quotas = Quota.objects.select_related("tenant", "environment").order_by("-id")
    return quotas.filter(tenant__slug=tenant_slug) if tenant_slug else quotas


def domain_reservations_of_the_platform() -> QuerySet[DomainReservation]:
    """Every reserved domain with the tenant it is kept for (none: the platform's)."""
    return DomainReservation.objects.select_related("tenant").order_by("domain")


def host_claims_of_every_tenant() -> QuerySet[HostClaim]:
    """Every claimed host with its tenant."""
    return HostClaim.objects.select_related("tenant").order_by("host")


@dataclass(frozen=True)
class TenantBacklog:
    tenant: Tenant
    work: list[Backlog]

    @property
    def waiting(self) -> int:
        return sum(backlog.waiting for backlog in self.work)

    @property
    def running(self) -> int:
        return sum(backlog.running for backlog in self.work)


def backlog_of_the_platform() -> list[TenantBacklog]:
    """Every tenant with background work running or waiting, and that work, most waiting first: the
    operators' view of who is using the workers and who waits for their turn."""
    busy = backlogs_of_platform()
    tenants = Tenant.objects.in_bulk(list(busy))
    rows = [TenantBacklog(tenants[pk], work) for pk, work in busy.items() if pk in tenants]
    return sorted(rows, key=lambda row: (-row.waiting, -row.running, row.tenant.slug))
