"""Tenants, memberships, invitations, environments and quotas."""

import hashlib
import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Case, Q, Value, When

from apps.core.policies import RestrictedQuerySet

from .roles import Role

# No "--": namespaces join tenant and environment with it, so no two pairs can make the same name.
SLUG_VALIDATOR = RegexValidator(
    r"^(?!.*--)[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$",
    "Use lower-case letters, digits and single hyphens (not “--”), starting and ending with a letter or digit.",
)


class Tenant(models.Model):
    """An organization on the platform. Its slug appears in URLs and namespace names and never changes.

    A suspended tenant is read-only for its members.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    slug = models.CharField(max_length=40, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tenant_id(self) -> int:
        """A tenant owns itself; lets policies treat it like every tenant-owned row."""
        return self.pk

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class TenantOwned(models.Model):
    """Base of every tenant-owned model: a protected tenant link and the restricted manager."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(TenantOwned):
    """A user's role in one tenant. Every tenant keeps at least one owner."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")

    class Source(models.TextChoices):
        MANUAL = "manual", "Granted by a person"
        SSO = "sso", "Follows the identity provider's groups"

    role = models.CharField(max_length=16, choices=Role.choices)
    # SSO memberships are made, changed and removed by logins through the IdP (apps/tenants/sso.py).
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "user__email"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"


class Invitation(TenantOwned):
    """An emailed offer to join a tenant with a role. Only the SHA-256 of the token is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.tenant} as {self.role}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


NAMESPACE_MAX = 63


def namespace_for(tenant_slug: str, environment_name: str) -> str:
    """`<tenant>--<environment>` as a DNS-1123 label; long names are cut and made unique with a hash.

    Neither part may hold "--", so the pair is unambiguous: tenant `a` with environment `zz-dev` and
    tenant `a-zz` with environment `dev` give `a--zz-dev` and `a-zz--dev`.
    """
    raw = re.sub(r"[^a-z0-9-]+", "-", f"{tenant_slug}--{environment_name}".lower()).strip("-")
    if len(raw) <= NAMESPACE_MAX:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{raw[: NAMESPACE_MAX - 9].rstrip('-')}-{digest}"


class Environment(TenantOwned):
    """A place a tenant deploys to: one Kubernetes namespace, named once at creation and never renamed."""

    class Kind(models.TextChoices):
        NON_PRODUCTION = "non_production", "Non-production"
        PRODUCTION = "production", "Production"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="environments")
    name = models.CharField(max_length=30, validators=[SLUG_VALIDATOR])
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NON_PRODUCTION)
    namespace = models.CharField(max_length=NAMESPACE_MAX, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "created_at", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="environment_unique_name")]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.name}"

    @property
    def is_production(self) -> bool:
        return self.kind == self.Kind.PRODUCTION


def promotion_order(prefix: str = "") -> list:
    """Order by for environments (or rows of them, with `prefix="environment__"`) along the promotion
    path: non-production first in the order they were made (dev, staging), production last."""
    return [
        Case(When(**{f"{prefix}kind": Environment.Kind.PRODUCTION}, then=Value(1)), default=Value(0)),
        f"{prefix}created_at",
        f"{prefix}name",
    ]


def promotion_key(environment: Environment) -> tuple:
    """The same order for environments already in memory."""
    return (environment.is_production, environment.created_at, environment.name)


class Quota(TenantOwned):
    """A limit on one resource for a tenant (environment empty) or for one of its environments.

    Set by operators; checked by the service that would add usage. "Deployments at once" is the one
    limit that queues instead of refusing: work beyond it waits its turn (docs/fairness.md).
    """

    class Resource(models.TextChoices):
        CPU = "cpu", "CPU (millicores)"
        MEMORY = "memory", "Memory (MiB)"
        PODS = "pods", "Pods"
        APPLICATIONS = "applications", "Applications"
        API_KEYS = "api_keys", "API keys"
        ADDONS = "addons", "Add-on instances"
        ADDON_STORAGE = "addon_storage", "Add-on storage (MiB)"
        # Not refused beyond it: further deployments wait their turn (apps/deployments/fairness.py).
        DEPLOYMENTS = "deployments", "Deployments at once"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="quotas")
    environment = models.ForeignKey(Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="quotas")
    resource = models.CharField(max_length=16, choices=Resource.choices)
    limit = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name", "environment__name", "resource"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "resource"], condition=Q(environment__isnull=True), name="quota_unique_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "environment", "resource"],
                condition=Q(environment__isnull=False),
                name="quota_unique_environment",
            ),
        ]

    def __str__(self) -> str:
        where = self.environment.name if self.environment is not None else "tenant"
        return f"{self.tenant.slug} {where} {self.resource} ≤ {self.limit}"


class HostClaim(TenantOwned):
    """An ingress host name that belongs to one tenant platform-wide, claimed the first time one of
    its releases names it. The unique host makes two tenants racing for a name end with one owner."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="host_claims")
    host = models.CharField(max_length=253, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]

    def __str__(self) -> str:
        return f"{self.host} → {self.tenant.slug}"


class DomainReservation(models.Model):
    """A domain operators keep: with a tenant, only that tenant may claim hosts under it; without
    one, no tenant may. The most specific reservation of a host decides."""

    domain = models.CharField(max_length=253, unique=True)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="domain_reservations"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return f"{self.domain} → {self.tenant.slug if self.tenant is not None else 'platform'}"
