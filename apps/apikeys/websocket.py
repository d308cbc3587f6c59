"""API-key authentication of WebSocket handshakes, for programs (portalctl) that have no session.

The key travels as on the REST API, `Authorization: Bearer pk_…`, in the handshake's headers and is
checked by the same function. A presented key decides who the socket is, even beside a session
cookie; a bad key makes the socket anonymous, and the consumers then close it with 4401. Consumers
authorize through `socket_principal(scope)`, so a key never reaches beyond its tenant, and through
`KeyScopedStream`, so a key needs the scope of the REST endpoint the stream mirrors.
"""

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.http import is_same_domain
from rest_framework.exceptions import APIException, Throttled

from apps.core.client_ip import socket_client_ip
from apps.tenants.principals import Principal
from apps.tenants.roles import READ

from .authentication import authenticate_key
from .models import APIKey


def _bearer(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return parts[1]
            return ""  # present but malformed: refused like a wrong key
    return None


# The key's plan is used up, or the address failed to authenticate too often (REST answers 429).
CLOSE_RATE_LIMITED = 4429


@database_sync_to_async
def _authenticated(key: str, ip: str | None):
    """(the key, None), or (None, a close code) when the handshake is refused before any consumer runs."""
    try:
        return authenticate_key(key or None, ip), None
    except Throttled:
        return None, CLOSE_RATE_LIMITED
    except APIException:
        return None, None


async def _refuse(receive, send, code: int) -> None:
    # Accept, then close with our code: a refused handshake reaches the client only as 1006.
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})


class APIKeyAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] to the key's owner and scope["api_key"] to the key when a bearer key is sent.

    The handshake is authenticated, and metered, exactly like a REST call with the key."""

    async def __call__(self, scope, receive, send):
        key = _bearer(scope)
        if key is not None:
            api_key, refusal = await _authenticated(key, socket_client_ip(scope))
            if refusal is not None:
                return await _refuse(receive, send, refusal)
            scope = {**scope, "user": api_key.user if api_key else AnonymousUser(), "api_key": api_key}
        return await super().__call__(scope, receive, send)


def KeyAwareOriginValidator(application):  # noqa: N802 - a factory, named like channels' own
    """channels' AllowedHostsOriginValidator refuses a handshake without an Origin header (channels 4.3:
    "None is not allowed unless all hosts are allowed"), and programs send none. Browsers always send
    Origin on WebSocket handshakes, so an origin-less handshake is not a page of another site riding
    on a cookie; it is let through when it carries an Authorization header, and the key alone then
    decides who it is (a malformed or wrong one makes it anonymous: closed with 4401)."""
    validated = AllowedHostsOriginValidator(application)

    async def validator(scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is None and _bearer(scope) is not None:
            return await application(scope, receive, send)
        if origin is not None and _trusted(origin):
            return await application(scope, receive, send)
        if origin is not None and not _same_origin(origin, _header(scope, b"host") or ""):
            return await WebsocketDenier()(scope, receive, send)
        return await validated(scope, receive, send)  # and the host must be one of ALLOWED_HOSTS

    return validator


def _header(scope, name: bytes) -> str | None:
    return next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name), None)


DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_origin(origin: str, host: str) -> bool:
    """Whether the page opening a socket is the portal's own, as Django's CSRF check judges a form's: its
    origin names the host and port the handshake went to. An allowed host name alone is not enough:
    cookies are not kept apart by port, so a program served on another port of the portal's host would
    otherwise open sockets as whoever visits it."""
    try:
        page, target = urlsplit(origin), urlsplit(f"//{host}")
        page_port, target_port = page.port or DEFAULT_PORTS.get(page.scheme), target.port
    except ValueError:
        return False
    if not page.hostname or page.hostname != target.hostname or page_port is None:
        return False
    # A Host without a port is the default port of the scheme the client used, which a proxy in front may
    # have changed (TLS ending there): either default port is the portal's own then.
    return page_port == target_port if target_port is not None else page_port in DEFAULT_PORTS.values()


def _trusted(origin: str) -> bool:
    """An origin CSRF_TRUSTED_ORIGINS lists, exactly or as `scheme://*.domain`, as Django reads it for forms."""
    scheme, _, netloc = origin.partition("://")
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if origin == trusted:
            return True
        trusted_scheme, _, pattern = trusted.partition("://")
        if pattern.startswith("*.") and scheme == trusted_scheme and is_same_domain(netloc, pattern[1:]):
            return True
    return False


def socket_principal(scope) -> Principal:
    """Who a socket is: its user, narrowed to the key's tenant and scopes when it came with a key."""
    return Principal(scope.get("user"), scope.get("api_key"))


# A key without the scope the stream needs; REST answers 403 missing_scope for the same key.
CLOSE_MISSING_SCOPE = 4403


if TYPE_CHECKING:  # the mixin's consumers are AsyncWebsocketConsumers: it uses their scope, accept and close
    from channels.generic.websocket import AsyncWebsocketConsumer as _Consumer
else:
    _Consumer = object


class KeyScopedStream(_Consumer):
    """Mixin of every consumer a key may open: `stream_scopes` names the scopes of the REST endpoints the
    stream mirrors (deployment events need deployments:read, like GET /api/v1/deployments/). A key
    without one of them is closed with 4403 before the consumer authorizes anything; sessions are held
    by their role alone, as over REST. A consumer that names no scope is closed to keys altogether."""

    stream_scopes: tuple[tuple[str, str], ...] = ()

    async def websocket_connect(self, message):
        if self.scope.get("api_key") is not None and not self.key_may_open():
            # Accept, then close with our code: a refused handshake reaches the client only as 1006.
            await self.accept()
            await self.close(code=CLOSE_MISSING_SCOPE)
            return
        await super().websocket_connect(message)

    def key_may_open(self) -> bool:
        principal = socket_principal(self.scope)
        return bool(self.stream_scopes) and all(principal.has_scope(*scope) for scope in self.stream_scopes)

    async def reload_identity(self) -> bool:
        """The user (ObjectStream's), then the key it came with: revoked or expired closes the socket."""
        return await super().reload_identity() and await self._reload_key()

    @database_sync_to_async
    def _reload_key(self) -> bool:
        api_key = self.scope.get("api_key")
        if api_key is None:
            return True
        api_key = APIKey.objects.select_related("user", "tenant").filter(pk=api_key.pk).first()
        if api_key is None or not api_key.is_active:
            return False
        self.scope["api_key"] = api_key
        return True


DEPLOYMENT_EVENTS = ("deployments", READ)
TENANT = ("tenant", READ)
