"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses.

Checked when an endpoint is saved and again before every attempt, since DNS may change between the two;
the connection itself is also checked (transport.py), so a name that resolves differently a millisecond
later still cannot reach a private address. WEBHOOK_ALLOW_PRIVATE_TARGETS (the operator's setting) or an
endpoint's operator-set `allow_private` lifts the address rule; the scheme rule always holds.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.errors import ApplicationError

TARGET_REFUSED = "target_refused"


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, code=TARGET_REFUSED, field="url")


def address_is_public(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified addresses (IPv4-mapped
    IPv6 addresses are judged as the IPv4 address they carry)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 (mapped, 6to4, Teredo) is judged as that address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to right now."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def private_allowed(allow_private: bool) -> bool:
    return bool(allow_private or settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def target_check(url: str, *, allow_private: bool = False) -> None:
    """Refuse (ApplicationError, code target_refused) a URL a webhook may not be sent to."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refuse("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise _refuse("Webhook URLs must start with http:// or https://.")
    if not parts.hostname:
        raise _refuse("The URL needs a host name.")
    if parts.username or parts.password:
        raise _refuse("Leave credentials out of the URL; verify the signature instead.")
    if private_allowed(allow_private):
        return
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        raise _refuse(f"The host “{parts.hostname}” does not resolve.") from None
    blocked = [address for address in addresses if not address_is_public(address)]
    if blocked or not addresses:
        raise _refuse(
            f"“{parts.hostname}” resolves to a private, loopback or reserved address "
            f"({', '.join(blocked)}); webhooks only go to public addresses."
        )
