"""Holding API-key calls to their tenant's plan: metered where the key is authenticated.

Every request whose key is verified is metered at once, before any permission check, so a request then
refused (403: a missing scope, a policy) still takes its token; a WebSocket handshake with a key is
metered like a request. Failed attempts are limited per client address instead (failures.py).

Browser sessions are not metered: a plan limits programs, and the people of a tenant whose scripts
used up its quota must still be able to use the portal (and read their usage in it).
"""

from django.conf import settings
from rest_framework import exceptions

from . import notices, ratelimit


class RateLimited(exceptions.Throttled):
    """429 in the project's error shape, with code `rate_limited` or `quota_exceeded` and Retry-After."""


def meter(api_key, headers: dict | None = None) -> None:
    """Count one call of this key; raise RateLimited when its plan is used up. The RateLimit-* headers
    are added to `headers` (a DRF view's, which finalize_response copies onto every response, the 429
    included; DRF's exception handler adds Retry-After from the exception's wait)."""
    if not settings.API_RATE_LIMITS_ENABLED:
        return
    decision = ratelimit.check(key_id=api_key.pk, tenant_id=api_key.tenant_id)
    if decision is None:  # Redis unreachable: fail open (logged by the limiter)
        return
    if headers is not None:
        headers.update({name: value for name, value in decision.headers().items() if name != "Retry-After"})
    if decision.warnings:
        notices.quota_crossed(tenant_id=api_key.tenant_id, warnings=decision.warnings, decision=decision)
    if not decision.allowed:
        raise RateLimited(wait=decision.retry_after, detail=decision.detail, code=decision.code)
