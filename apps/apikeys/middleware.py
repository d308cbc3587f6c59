"""Counts every API-key request for the usage analytics: endpoint, status and latency."""

import time

from asgiref.sync import iscoroutinefunction, sync_to_async

from apps.core.middleware import Middleware

from . import usage


def _api_key(request):
    # Set by key authentication once the key is verified: the usage counts what the plan's meter
    # counts, calls refused afterwards (403, 429) included.
    return getattr(request, "metered_key", None)


class APIUsageMiddleware(Middleware):
    """Placed right after the request-id middleware, so the latency counted is nearly the whole request."""

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        api_key = _api_key(request)
        if api_key is not None:
            self._record(request, response, api_key, started)
        return response

    async def __acall__(self, request):
        started = time.perf_counter()
        response = await self.get_response(request)
        api_key = _api_key(request)
        if api_key is not None:
            # Off the event loop: a slow Redis must not stall other requests.
            await sync_to_async(self._record, thread_sensitive=False)(request, response, api_key, started)
        return response

    @staticmethod
    def _record(request, response, api_key, started) -> None:
        usage.record(
            tenant_id=api_key.tenant_id,
            key_id=api_key.pk,
            endpoint=usage.endpoint_of(request),
            status=response.status_code,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
