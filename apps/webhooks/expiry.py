"""The "apikey.expiring" event: once per key, WEBHOOK_KEY_EXPIRY_NOTICE_DAYS before it expires.

"Once" is remembered in the cache (Redis) until the key has expired; should the cache be emptied, a
key may be announced a second time, which receivers can tell from the same key id and expiry.
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.apikeys.models import APIKey

from .events import KEY_EXPIRING
from .models import WebhookEndpoint
from .services import event_dispatch


def expiring_keys_announce(limit: int = 1000) -> int:
    """Send the event for live keys that expire within the notice period; returns how many were announced."""
    now = timezone.now()
    window = timedelta(days=settings.WEBHOOK_KEY_EXPIRY_NOTICE_DAYS)
    subscribed = WebhookEndpoint.objects.filter(is_active=True).values("tenant_id")
    keys = (APIKey.objects.filter(revoked_at=None, expires_at__gt=now, expires_at__lte=now + window,
                                  tenant_id__in=subscribed)
            .select_related("user").order_by("expires_at")[:limit])
    announced = 0
    for key in keys:
        marker = f"webhooks:apikey-expiring:{key.pk}:{int(key.expires_at.timestamp())}"
        if not cache.add(marker, 1, timeout=int((key.expires_at - now).total_seconds()) + 86400):
            continue
        event_dispatch(tenant_id=key.tenant_id, event=KEY_EXPIRING, data={
            "api_key": key.pk, "name": key.name, "prefix": key.prefix, "owner": key.user.email,
            "expires_at": key.expires_at.isoformat()})
        announced += 1
    return announced
