"""HTTP middleware of the core app."""

import time

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import BadRequest
from django.http import JsonResponse

from .request_id import HEADER, accept_request_id, bind_client, bind_request_id, clear_request_id
from .views import bad_request

logger = structlog.get_logger("portal.request")


class Middleware:
    """Base of our middleware: runs natively in both the sync and the async stack (no thread hop per
    request under ASGI). Subclasses implement `__call__` and `__acall__`; `__call__` starts with
    `if iscoroutinefunction(self): return self.__acall__(request)`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)


class RequestIDMiddleware(Middleware):
    """Give every request an id, log it once finished, and return it as X-Request-ID."""

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


class RejectNulMiddleware(Middleware):
    """Answer 400 to a query string carrying a NUL character: PostgreSQL refuses NUL in text, so a
    filter value with one would otherwise end in a 500 wherever a view passes it to the database."""

    MESSAGE = "The query string contains a NUL character."

    def _refusal(self, request):
        if "\x00" not in request.META.get("QUERY_STRING", "") and not any(
                "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "invalid", "detail": self.MESSAGE}, status=400)
        return bad_request(request, BadRequest(self.MESSAGE))

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._refusal(request) or self.get_response(request)

    async def __acall__(self, request):
        return self._refusal(request) or await self.get_response(request)
