"""API keys."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from apps.tenants.models import TenantOwned


class APIKey(TenantOwned):
    """A key a member created for themselves in one tenant, shown in full exactly once.

    The key reads `pk_<lookup>_<secret>`. The lookup is stored plainly and indexed; the whole key is
    stored only as an HMAC-SHA256 digest under a server-side pepper. A key's scopes never exceed its
    creator's role, and it always expires.
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

    is_api_key = True  # lets principals tell a key from other DRF auth objects

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
