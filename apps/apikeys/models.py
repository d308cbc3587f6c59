"""API keys, the plans that limit them, and their usage."""

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core import crypto
from apps.tenants.models import Tenant, TenantOwned


class APIKey(TenantOwned):
    """A key a member created for themselves in one tenant, shown in full exactly once.

    The key reads `pk_<lookup>_<secret>`. The lookup is stored plainly and indexed; the whole key is
    stored only as an HMAC-SHA256 digest under a server-side pepper. A key's scopes never exceed its
    creator's role, and it always expires.

    Rotation makes a successor (`rotated_from` points back) and shortens the old key to the overlap, so
    both work for a while. `reminders_sent` holds the days-before-expiry reminders already sent (14, 7, 1).
    An automatic rotation leaves the successor's plaintext in `sealed_key`, encrypted, until its owner
    reveals it once; a key made any other way never has one.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    lookup = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=40), default=list)
    allowed_ips = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    rotated_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="successors")
    auto_rotate = models.BooleanField(default=False, help_text="Rotated automatically a week before it expires.")
    reminders_sent = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    sealed_key = crypto.EncryptedTextField(
        blank=True, default="", help_text="Fernet ciphertext of an auto-rotated key's plaintext, wiped when revealed."
    )

    is_api_key = True  # lets principals tell a key from other DRF auth objects
    # Set on the instance only, never stored: the plaintext (or its ciphertext) for the one response that shows it,
    # and the owner's role that key authentication looked up in the same query.
    key: str
    member_role: str | None

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["tenant", "user", "-created_at"], name="apikey_tenant_user")]

    def __str__(self) -> str:
        return f"{self.name} (pk_{self.lookup}_…)"

    @property
    def prefix(self) -> str:
        return f"pk_{self.lookup}_"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"

    @property
    def lifetime(self) -> timedelta:
        return self.expires_at - self.created_at

    @property
    def awaits_reveal(self) -> bool:
        return bool(self.sealed_key)

    @property
    def scope_summary(self) -> tuple[list[str], list[str]]:
        """The resources the key writes (write includes read) and those it only reads, for the key lists."""
        writes = sorted({scope.split(":")[0] for scope in self.scopes if scope.endswith(":write")})
        reads = sorted({scope.split(":")[0] for scope in self.scopes if scope.endswith(":read")} - set(writes))
        return writes, reads


# --- Plans: rate limits and quotas ------------------------------------------------------------


class Plan(models.Model):
    """A rate-limit plan operators assign to tenants.

    Every API key of a tenant on the plan gets a token bucket of `requests_per_second` refilling up to
    `burst`; all the tenant's keys together share a second bucket (`tenant_requests_per_second`,
    `tenant_burst`). `daily_quota` and `monthly_quota` count the tenant's allowed requests per UTC day
    and month; empty means unlimited. At most one plan is the default, for tenants without a plan.
    """

    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    requests_per_second = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    burst = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    tenant_requests_per_second = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    tenant_burst = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    daily_quota = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="plan_one_default"),
            models.CheckConstraint(
                condition=Q(
                    requests_per_second__gte=1, burst__gte=1, tenant_requests_per_second__gte=1, tenant_burst__gte=1
                ),
                name="plan_positive_rates",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.tenant_burst is not None and self.burst is not None and self.tenant_burst < self.burst:
            errors["tenant_burst"] = "The tenant's burst cannot be smaller than one key's."
        if (
            self.tenant_requests_per_second is not None
            and self.requests_per_second is not None
            and self.tenant_requests_per_second < self.requests_per_second
        ):
            errors["tenant_requests_per_second"] = "The tenant's rate cannot be lower than one key's."
        if self.daily_quota is not None and self.monthly_quota is not None and self.monthly_quota < self.daily_quota:
            errors["monthly_quota"] = "The monthly quota cannot be smaller than the daily one."
        if errors:
            raise ValidationError(errors)


class TenantPlan(models.Model):
    """The plan assigned to one tenant. A tenant without a row is on the default plan."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="api_plan")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.tenant} on {self.plan}"


# --- Usage analytics ----------------------------------------------------------------------------

# Upper bounds (ms) of the latency histogram's buckets; the last bucket holds everything slower.
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500)


def _empty_buckets() -> list[int]:
    return [0] * (len(LATENCY_BUCKETS_MS) + 1)


class UsageDaily(TenantOwned):
    """API-key requests aggregated per key, endpoint and UTC day: counts, errors and a latency histogram.

    One row per (key, endpoint, day) whatever the traffic: requests are counted in Redis and a beat task
    adds them here (apps/apikeys/usage.py). `endpoint` is the method and route name ("GET application-list"),
    never a raw path, so ids in URLs do not make new rows.
    """

    api_key = models.ForeignKey(APIKey, on_delete=models.PROTECT, related_name="usage")
    endpoint = models.CharField(max_length=120)
    day = models.DateField()
    requests = models.PositiveBigIntegerField(default=0)
    errors_4xx = models.PositiveBigIntegerField(default=0)
    errors_5xx = models.PositiveBigIntegerField(default=0)
    throttled = models.PositiveBigIntegerField(default=0, help_text="429 answers, also counted in errors_4xx.")
    latency_ms_sum = models.PositiveBigIntegerField(default=0)
    latency_buckets = ArrayField(
        models.PositiveBigIntegerField(),
        default=_empty_buckets,
        help_text="Request counts per latency bucket; see LATENCY_BUCKETS_MS.",
    )

    class Meta:
        ordering = ["-day", "endpoint"]
        verbose_name = "daily API usage"
        verbose_name_plural = "daily API usage"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "api_key", "endpoint", "day"], name="usagedaily_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "day"], name="usagedaily_tenant_day"),
            models.Index(fields=["api_key", "day"], name="usagedaily_key_day"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} on {self.day}: {self.requests}"

    @property
    def errors(self) -> int:
        return self.errors_4xx + self.errors_5xx

    @property
    def latency_ms_avg(self) -> float | None:
        return round(self.latency_ms_sum / self.requests, 1) if self.requests else None

    @property
    def latency_ms_p95(self) -> int | None:
        return percentile_from_buckets(self.latency_buckets, 0.95)


def percentile_from_buckets(buckets: list[int], fraction: float) -> int | None:
    """The upper bound of the bucket holding the given fraction of requests (None: no requests).

    The open last bucket reports twice the last bound: "slower than 2.5 s"."""
    total = sum(buckets)
    if not total:
        return None
    wanted, seen = fraction * total, 0
    bounds = (*LATENCY_BUCKETS_MS, LATENCY_BUCKETS_MS[-1] * 2)
    for bound, count in zip(bounds, buckets, strict=False):
        seen += count
        if seen >= wanted:
            return bound
    return bounds[-1]


class UsageFlush(models.Model):
    """One batch of Redis counters written into UsageDaily; its id makes a retried flush a no-op."""

    batch = models.CharField(max_length=64, primary_key=True)
    flushed_at = models.DateTimeField(auto_now_add=True)


class QuotaNotice(TenantOwned):
    """A tenant was told its usage crossed `threshold` percent of its daily or monthly quota.

    Unique per period and threshold: each warning goes out once however many processes see the crossing.
    """

    class Period(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"

    period = models.CharField(max_length=8, choices=Period.choices)
    period_start = models.DateField()
    threshold = models.PositiveSmallIntegerField()
    used = models.PositiveBigIntegerField()
    quota = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period", "period_start", "threshold"], name="quotanotice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} at {self.threshold}% of its {self.period} quota"
