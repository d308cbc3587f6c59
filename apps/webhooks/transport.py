"""The HTTP side of a delivery: one POST with requests, no redirects, no proxies, short timeouts.

Without private targets allowed, every connection checks the address it actually reached, so DNS that
changes between the check and the connection (rebinding) cannot reach a private address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from .targets import address_is_public

EXCERPT_BYTES = 500
USER_AGENT = "paas-portal-webhooks/1"


class PrivatePeerRefused(NewConnectionError):
    """The connection reached a private, loopback or reserved address."""


class _PublicPeerOnly:
    def _new_conn(self):
        sock = super()._new_conn()
        address = sock.getpeername()[0]
        if not address_is_public(address):
            sock.close()
            raise PrivatePeerRefused(self, f"refused: {self.host} connected to the non-public address {address}")
        return sock


class _PublicHTTPConnection(_PublicPeerOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


@dataclass
class Outcome:
    """What one attempt saw: a status code and body excerpt, or an error; and how long it took."""

    code: int | None
    body: str
    latency_ms: int
    error: str = ""
    refused: bool = False
    peer_public: bool = False  # the connection answered from a public address (only then is `body` read)

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def _session(private_allowed: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the worker's environment
    if not private_allowed:
        adapter = PublicOnlyAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def _refused(exc: BaseException) -> bool:
    seen = exc
    for _ in range(5):
        if isinstance(seen, PrivatePeerRefused):
            return True
        seen = getattr(seen, "reason", None) or (seen.args[0] if getattr(seen, "args", None) else None)
        if not isinstance(seen, BaseException):
            return False
    return False


def post(url: str, body: bytes, headers: dict, *, private_allowed: bool) -> Outcome:
    """POST once; never raises for network trouble (it becomes the outcome's error)."""
    timeout = (settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_TIMEOUT_SECONDS)
    started = time.monotonic()
    with _session(private_allowed) as session:
        try:
            response = session.post(
                url,
                data=body,
                headers={**headers, "User-Agent": USER_AGENT},
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            latency = int((time.monotonic() - started) * 1000)
            if _refused(exc):
                return Outcome(None, "", latency, "Refused: the host resolved to a non-public address.", True)
            return Outcome(None, "", latency, _describe(exc))
        peer_public, excerpt = _peer_is_public(response), b""
        try:
            if peer_public:  # a private target's answer may be internal data: it is never read
                excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
        except Exception:  # a body that breaks off is still an answer with a status code
            excerpt = b""
        finally:
            response.close()
    latency = int((time.monotonic() - started) * 1000)
    return Outcome(response.status_code, excerpt.decode("utf-8", "replace"), latency, peer_public=peer_public)


def _peer_is_public(response: requests.Response) -> bool:
    """Whether the socket that carried this response is connected to a public address; False when unknown."""
    try:
        address = response.raw.connection.sock.getpeername()[0]
    except (AttributeError, OSError, IndexError, TypeError):
        return False
    return address_is_public(address)


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "Timed out connecting."
    if isinstance(exc, requests.Timeout):
        return "Timed out waiting for the response."
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed (certificate not trusted or wrong host)."
    if isinstance(exc, requests.ConnectionError):
        return "Could not connect."
    return exc.__class__.__name__
