"""HTTP middleware of the core app."""

import time

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from .request_id import HEADER, accept_request_id, bind_client, bind_request_id, clear_request_id

logger = structlog.get_logger("portal.request")


class RequestIDMiddleware:
    """Give every request an id, log it once finished, and return it as X-Request-ID."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def _start(self, request):
        request.request_id = accept_request_id(request.headers.get(HEADER))
        bind_request_id(request.request_id)
        # REMOTE_ADDR is the peer; behind a proxy the ASGI server rewrites it from X-Forwarded-For
        # for trusted proxies only (uvicorn --proxy-headers, FORWARDED_ALLOW_IPS).
        bind_client(request.META.get("REMOTE_ADDR"), request.headers.get("User-Agent", ""))
        return time.monotonic()

    def _finish(self, request, response, started):
        response[HEADER] = request.request_id
        logger.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        clear_request_id()
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        started = self._start(request)
        return self._finish(request, self.get_response(request), started)

    async def __acall__(self, request):
        started = self._start(request)
        return self._finish(request, await self.get_response(request), started)
