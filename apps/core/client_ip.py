"""The client's address: the one way the portal reads it, for API-key IP allow-lists, the audit trail, and
the per-IP limits of logins and key attempts.

The TCP peer is the client, unless the peer is one of TRUSTED_PROXIES (addresses or CIDRs; none by
default). Behind trusted proxies X-Forwarded-For is read from the right, since each proxy appends the
address it saw: the right-most address that is not itself a trusted proxy is the client, and whatever
stands left of it was written by the client and is ignored. The ASGI server must hand over the real peer
(uvicorn --no-proxy-headers), or a client could choose its own address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def trusted_proxies() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """settings.TRUSTED_PROXIES as networks (the settings refuse to load with an entry that is not one)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _address(value: str) -> Address | None:
    """An address as proxies write it: bare, `v4:port` or `[v6]:port`; None when it is none of these."""
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address) -> bool:
    return any(address in network for network in trusted_proxies())


def resolve(peer: str | None, forwarded_for: str | None) -> str | None:
    """The client's address from the TCP peer and the X-Forwarded-For header (all its values, joined)."""
    client = _address(peer or "")
    if client is None:
        return peer or None  # not an IP peer (a Unix socket): nothing to resolve
    if not forwarded_for or not _trusted(client):
        return str(client)
    for entry in reversed(forwarded_for.split(",")):
        hop = _address(entry)
        if hop is None:  # not an address: written by no proxy we trust; the last trusted hop is all we know
            break
        client = hop
        if not _trusted(hop):
            break
    return str(client)


def client_ip(request) -> str | None:
    """The address of the client that sent this Django (or DRF) request."""
    request = getattr(request, "_request", request)
    if not hasattr(request, "_client_ip"):
        request._client_ip = resolve(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))
    return request._client_ip


def socket_client_ip(scope) -> str | None:
    """The address of the client of an ASGI connection (a WebSocket handshake)."""
    peer = (scope.get("client") or (None,))[0]
    forwarded = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
    return resolve(peer, ",".join(forwarded) or None)
