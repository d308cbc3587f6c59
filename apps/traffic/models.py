"""Routes: a host and path of a tenant's, sent to one application in one environment."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.catalog.models import Application
from apps.tenants.models import Environment, Tenant, TenantOwned

from .maintenance import SERVER_NAME, SERVER_PORT


class Route(TenantOwned):
    """One host and path served by an application's Service in an environment's namespace.

    The host is claimed for the tenant platform-wide (apps/tenants/claims.py) before a route may
    name it, and no two routes send the same host and path to different places, except the routes
    made from one application's releases in each environment it is promoted through. The portal
    owns the objects the cluster's renderer makes of it (an Ingress or an HTTPRoute named `name`).
    """

    class PathType(models.TextChoices):
        PREFIX = "prefix", "Prefix"
        EXACT = "exact", "Exact"

    class TLS(models.TextChoices):
        NONE = "none", "No TLS"
        SECRET = "secret", "A Secret in the namespace"
        ISSUE = "issue", "Issue one (cert-manager)"

    class Auth(models.TextChoices):
        NONE = "none", "None"
        API_KEY = "api_key", "Consumer API key"

    class State(models.TextChoices):
        PENDING = "pending", "Applying"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"
        WAITING = "waiting", "Waiting for approval"
        DELETING = "deleting", "Being removed"
        REMOVED = "removed", "Removed with the application"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="routes")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="routes")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="routes")
    name = models.CharField(max_length=63, help_text="The name of the cluster object rendered from the route.")
    host = models.CharField(max_length=253)
    path = models.CharField(max_length=200, default="/")
    path_type = models.CharField(max_length=8, choices=PathType.choices, default=PathType.PREFIX)
    service_port = models.PositiveIntegerField(help_text="The port of the application's Service traffic goes to.")
    tls = models.CharField(max_length=8, choices=TLS.choices, default=TLS.NONE)
    tls_secret = models.CharField(max_length=253, blank=True, help_text="With tls=secret: a Secret in the namespace.")
    cert_issuer = models.CharField(max_length=253, blank=True, help_text="With tls=issue: the cert-manager issuer.")
    connect_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    read_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_body_size_mb = models.PositiveIntegerField(null=True, blank=True)
    cors_allow_origins = models.JSONField(default=list, blank=True, help_text="Origins allowed by CORS; empty: off.")
    rate_limit_rps = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per second per client.")
    rate_limit_burst = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_connections = models.PositiveIntegerField(null=True, blank=True)
    auth = models.CharField(max_length=8, choices=Auth.choices, default=Auth.NONE)
    from_release = models.BooleanField(
        default=False, help_text="Made from a release's ingress host; each deploy of the application re-applies it."
    )
    maintenance = models.BooleanField(
        default=False, help_text="Sent to the namespace's maintenance server, which answers 503 with a page."
    )
    maintenance_message = models.TextField(blank=True, help_text="Shown on the maintenance page (HTML-escaped).")
    maintenance_retry_after_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sent as Retry-After with the maintenance page's 503."
    )
    maintenance_starts_at = models.DateTimeField(
        null=True, blank=True, help_text="A scheduled window: beat switches maintenance on at this time."
    )
    maintenance_ends_at = models.DateTimeField(null=True, blank=True, help_text="... and off at this one.")
    degraded = models.BooleanField(
        default=False, help_text="Sent to the maintenance server, which answers 200 with a static fallback."
    )
    degraded_message = models.TextField(blank=True, help_text="The fallback page's text (HTML-escaped).")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    last_error = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    change_request: Any  # never stored: set by a governed write to the change request it now waits on

    class Meta:
        ordering = ["host", "path", "id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="route_unique_name"),
            models.UniqueConstraint(fields=["environment", "host", "path"], name="route_unique_host_path"),
        ]
        indexes = [
            models.Index(fields=["host", "path"]),
            models.Index(fields=["application", "environment"]),
            models.Index(fields=["maintenance_starts_at"], name="route_window_start"),
            models.Index(fields=["maintenance_ends_at"], name="route_window_end"),
        ]

    def __str__(self) -> str:
        return f"{self.host}{self.path}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls != self.TLS.NONE else 'http'}://{self.host}{self.path}"

    @property
    def serves_fallback(self) -> bool:
        """Whether the namespace's maintenance server answers for the route instead of the application."""
        return self.maintenance or self.degraded

    @property
    def backend_service(self) -> str:
        """The Service traffic goes to: the application's (its colours and canaries keep this name), or the
        maintenance server's while the route is in maintenance or degraded."""
        return SERVER_NAME if self.serves_fallback else self.application.name

    @property
    def backend_port(self) -> int:
        return SERVER_PORT if self.serves_fallback else self.service_port


class UsagePlan(TenantOwned):
    """A tenant's offer to the consumers of its own APIs: how fast and how much one consumer key may call.

    Each key on the plan gets its own token bucket of `requests_per_second` refilling up to `burst`, and
    its own `daily_quota` and `monthly_quota` (UTC; empty: unlimited), counted in Redis across every
    controller pod and portal process. A key without a plan gets the platform's default numbers
    (settings.CONSUMER_KEY_DEFAULT_LIMITS), named `default`, which is why no plan may take that name.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="usage_plans")
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    requests_per_second = models.PositiveIntegerField()
    burst = models.PositiveIntegerField()
    daily_quota = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="usageplan_unique_name"),
            models.CheckConstraint(
                condition=models.Q(requests_per_second__gte=1, burst__gte=1), name="usageplan_positive_rates"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ConsumerKey(TenantOwned):
    """A key a tenant gave one consumer of its APIs, checked by the gateway on routes with `auth=api_key`.

    It reads `ck_<lookup>_<secret>` and is shown in full once; the lookup is stored plainly and indexed,
    the whole key only as the same peppered HMAC-SHA256 digest portal API keys use (apps/apikeys/keys.py).
    It reaches the routes of its own tenant only. Revocation is immediate; a key may also expire.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="consumer_keys")
    name = models.CharField(max_length=100, help_text="Who the consumer is; sent to the application.")
    usage_plan = models.ForeignKey(
        UsagePlan, null=True, blank=True, on_delete=models.PROTECT, related_name="consumer_keys"
    )
    lookup = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    key: str  # never stored: the plaintext, for the one response that shows it
    limits: Any  # never stored: the plan's numbers, for a page that shows them
    calls: tuple[int, int] | None  # never stored: calls counted today and this month, read from Redis

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="consumerkey_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def prefix(self) -> str:
        return f"ck_{self.lookup}_"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and self.expires_at <= timezone.now() else "active"
