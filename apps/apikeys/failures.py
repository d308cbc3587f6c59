"""Failed API-key authentications counted per client address, so keys cannot be guessed at speed.

Every refused key attempt (unknown, wrong, malformed, revoked or expired key; a key used from an address
its allow-list refuses) counts against the client's address (an IPv6 client's whole /64) in a fixed
window of API_AUTH_FAILURE_WINDOW_SECONDS. Past API_AUTH_FAILURES_PER_IP, every further failed attempt
from there is answered 429 `too_many_failures` until the window ends. A right key still passes: keys
carry 256 random bits, so the limit only needs to slow guessing, and refusing right keys too would let
one client lock out everyone behind a shared address. Counters live in the rate limiter's Redis and
fail open like it.
"""

from __future__ import annotations

import ipaddress
import time

import redis
from django.conf import settings
from rest_framework import exceptions

from . import ratelimit

TOO_MANY_FAILURES = "too_many_failures"


class TooManyFailures(exceptions.Throttled):
    """429: this address failed to authenticate too often; code `too_many_failures`, with Retry-After."""


def _window() -> tuple[int, int]:
    """The current window's number and the seconds left in it."""
    length = settings.API_AUTH_FAILURE_WINDOW_SECONDS
    now = time.time()
    return int(now // length), max(1, int(length - now % length))


def _source(ip: str | None) -> str:
    """What a client holds: its IPv4 address, or its IPv6 /64."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def _counter(ip: str | None, window: int) -> str:
    return ratelimit.redis_key("authfail", _source(ip), window)


def refuse_if_blocked(ip: str | None) -> None:
    """Raise TooManyFailures when the address used up its failures in this window (asked after a failure)."""
    limit = settings.API_AUTH_FAILURES_PER_IP
    if limit <= 0 or not ratelimit.available():
        return
    window, left = _window()
    try:
        failures = int(ratelimit.client().get(_counter(ip, window)) or 0)
    except redis.RedisError as error:
        ratelimit.failed("auth failures", error)
        return
    if failures > limit:
        raise TooManyFailures(
            wait=left,
            code=TOO_MANY_FAILURES,
            detail="Too many failed authentication attempts from this address; try again later.",
        )


def count(ip: str | None) -> None:
    """One more failed key attempt from this address."""
    if settings.API_AUTH_FAILURES_PER_IP <= 0 or not ratelimit.available():
        return
    window, _ = _window()
    key = _counter(ip, window)
    try:
        pipe = ratelimit.client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, settings.API_AUTH_FAILURE_WINDOW_SECONDS * 2)
        pipe.execute()
    except redis.RedisError as error:
        ratelimit.failed("auth failures", error)
