"""HTTP middleware of the core app."""

import time

import django_prometheus.middleware
import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404

from .client_ip import client_ip
from .request_id import HEADER, accept_request_id, bind_client, bind_request_id, clear_request_id
from .views import bad_request, error_response, is_api_request, method_not_allowed, page_not_found

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

    def __call__(self, request):
        raise NotImplementedError


class RequestIDMiddleware(Middleware):
    """Give every request an id, log it once finished, and return it as X-Request-ID."""

    def _start(self, request):
        request.request_id = accept_request_id(request.headers.get(HEADER))
        bind_request_id(request.request_id)
        # The audit trail's address: the peer, or behind TRUSTED_PROXIES the client they forwarded for.
        bind_client(client_ip(request), request.headers.get("User-Agent", ""))
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
    """Answer 400 to a path or query string carrying a NUL character: PostgreSQL refuses NUL in text,
    so a lookup or filter value with one would otherwise end in a 500 wherever a view passes it to the
    database (`/api/v1/tenants/globex%00/`)."""

    QUERY_MESSAGE = "The query string contains a NUL character."
    PATH_MESSAGE = "The path contains a NUL character."

    def _refusal(self, request):
        if "\x00" in request.path or "\x00" in request.path_info:
            message = self.PATH_MESSAGE
        elif "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values
        ):
            message = self.QUERY_MESSAGE
        else:
            return None
        if is_api_request(request):
            return error_response("invalid", message, 400)
        return bad_request(request, BadRequest(message))

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._refusal(request) or self.get_response(request)

    async def __acall__(self, request):
        return self._refusal(request) or await self.get_response(request)


class APIBodySizeMiddleware(Middleware):
    """Answer 413 in the API's error shape to a body larger than API_MAX_BODY_BYTES, before anything
    parses it. Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) covers form fields only, and DRF's JSON
    parser reads the stream past it."""

    def _refusal(self, request):
        if not is_api_request(request):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response("invalid", "The Content-Length header is not a number.", 400)
        limit = settings.API_MAX_BODY_BYTES
        if request.path == settings.BUILD_UPLOAD_PATH:
            # A build context is an archive of a whole source tree: it has its own, larger, limit.
            limit = settings.BUILD_CONTEXT_MAX_BYTES + 1024 * 1024
        if length > limit:
            return error_response(
                "request_too_large", f"The request body is {length} bytes; the API accepts at most {limit}.", 413
            )
        return None

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._refusal(request) or self.get_response(request)

    async def __acall__(self, request):
        return self._refusal(request) or await self.get_response(request)


class FriendlyErrorsMiddleware(Middleware):
    """The portal's own pages where Django has none or a developer's one: a 405 (a form's POST-only
    address opened with GET) gets a page instead of an empty body; with DEBUG on (make run) a 404 gets
    the portal's page instead of Django's list of every URL. Errors that need debugging (500s) keep
    Django's debug page."""

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None

    def _friendly(self, request, response):
        if response.status_code == 405 and not is_api_request(request) and not response.content:
            return method_not_allowed(request, response)
        # resolver_match is unset when no URL matched: Django's debug page would list the URL map.
        if settings.DEBUG and response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            return page_not_found(request)
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._friendly(request, self.get_response(request))

    async def __acall__(self, request):
        response = await self.get_response(request)
        if response.status_code in (404, 405):
            return await sync_to_async(self._friendly)(request, response)
        return response


class PrometheusAfterMiddleware(django_prometheus.middleware.PrometheusAfterMiddleware):
    """django-prometheus' closing middleware, synchronous like the rest of the stack.

    Under ASGI Django runs each middleware in the mode it supports, and the stack above the lowest
    synchronous-only one (WhiteNoise's, and the session activity's, which reads the user) runs
    synchronously in the request's thread. As the innermost one, the library's async-capable version ran
    on the event loop instead, with each of its hooks handed to that thread and back: three more
    hand-offs on every request (tests/core/test_asgi_stack.py). /healthz over HTTP: 12 % more requests/s."""

    async_capable = False
