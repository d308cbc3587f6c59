"""The DRF throttle that holds API-key calls to their tenant's plan (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES).

Browser sessions are not metered: a plan limits programs, and the people of a tenant whose scripts
used up its quota must still be able to use the portal (and read their usage in it).
"""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from . import notices, ratelimit


class RateLimited(exceptions.Throttled):
    """429 in the project's error shape, with code `rate_limited` or `quota_exceeded` and Retry-After."""


class PlanRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        api_key = request.auth
        if not settings.API_RATE_LIMITS_ENABLED or not getattr(api_key, "is_api_key", False):
            return True
        decision = ratelimit.check(key_id=api_key.pk, tenant_id=api_key.tenant_id)
        if decision is None:  # Redis unreachable: fail open (logged by the limiter)
            return True
        # finalize_response copies view.headers onto every response, the 429 included; DRF's
        # exception handler adds Retry-After from the exception's wait.
        view.headers.update({name: value for name, value in decision.headers().items() if name != "Retry-After"})
        if decision.warnings:
            notices.quota_crossed(tenant_id=api_key.tenant_id, warnings=decision.warnings, decision=decision)
        if not decision.allowed:
            raise RateLimited(wait=decision.retry_after, detail=decision.detail, code=decision.code)
        return True

    def wait(self):
        return None
