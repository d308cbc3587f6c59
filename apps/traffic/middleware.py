"""The gateway's consumer-key check, answered ahead of the stack every browser request needs."""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.urls import reverse

from apps.core.middleware import Middleware

from . import gateway


class GatewayCheckMiddleware(Middleware):
    """Answers `GET /api/v1/gateway/verify/` itself (the API view gives the same answer), past sessions, CSRF, the portal's API
    usage count, allauth, CSP and the rest: traffic controllers call it before every request to a
    protected route, and none of that applies to them (no cookie, no browser, no portal key). It sits
    after the request id, the NUL check and the body limit, which every request keeps."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self._path: str | None = None

    def _is_check(self, request) -> bool:
        if self._path is None:  # the URLconf is not loaded yet when middleware is built
            self._path = reverse("gateway-verify")
        return request.method == "GET" and request.path == self._path

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return gateway.answer(request) if self._is_check(request) else self.get_response(request)

    async def __acall__(self, request):
        if self._is_check(request):
            return await sync_to_async(gateway.answer, thread_sensitive=False)(request)
        return await self.get_response(request)
