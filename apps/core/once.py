"""Forms that must not act twice. A page that answers a POST with something shown once (a new key) gets
reloaded, or left with Back and its form sent again, or its button clicked twice, and each would make
another. Such a form carries a token of its own (`token()` in the page's context, a hidden field named
FIELD). The first request to bring it `claim`s it in the cache (one atomic add, so two at once cannot
both win), then `remember`s the names of what it made, or `release`s it when it made nothing; a later
sending learns from `made` what the first one made instead of making another.

A form without a token, or with a value that is not one of ours, is not protected; nor is any form while
the cache cannot be reached (the request goes on)."""

import contextlib
import hashlib
import re
import secrets

import redis
from django.core.cache import cache

FIELD = "once"
IN_FLIGHT_SECONDS = 60  # a claim whose request died frees its token after this
TTL_SECONDS = 24 * 60 * 60
PENDING = "pending"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16}")  # what token() makes


def token() -> str:
    return secrets.token_urlsafe(12)


def _slot(request, kind: str) -> str | None:
    sent = request.POST.get(FIELD, "")
    if not _TOKEN.fullmatch(sent):
        return None
    digest = hashlib.sha256(f"{kind}\n{request.user.pk}\n{sent}".encode()).hexdigest()
    return f"once:{digest}"


def claim(request, kind: str) -> bool:
    """True when this request may act: the first to bring its token (or a form that is not protected)."""
    slot = _slot(request, kind)
    if slot is None:
        return True
    try:
        return cache.add(slot, PENDING, IN_FLIGHT_SECONDS)
    except redis.RedisError:
        return True


def made(request, kind: str) -> list | None:
    """What the first sending of this request's token made (names, never secrets); None while it is still
    at work or when that cannot be read."""
    slot = _slot(request, kind)
    try:
        found = cache.get(slot) if slot else None
    except redis.RedisError:
        return None
    return None if found == PENDING else found


def remember(request, kind: str, what: list) -> None:
    """Record what the claimed token made, for a later sending of it."""
    slot = _slot(request, kind)
    if slot is not None:
        with contextlib.suppress(redis.RedisError):
            cache.set(slot, what, TTL_SECONDS)


def release(request, kind: str) -> None:
    """The claimed token made nothing (a refused form): it may be sent again."""
    slot = _slot(request, kind)
    if slot is not None:
        with contextlib.suppress(redis.RedisError):
            cache.delete(slot)


def key_made_already(what: list | None) -> str:
    """What a page says to a key form sent again: the key the first sending made, and nothing new."""
    if what is None:
        return (
            "That form was sent already, and its key is made by the first sending, which shows it once. "
            "Nothing new was made; if the key was not seen, revoke it in the list and create another."
        )
    name, prefix = what
    return (
        f"That form was sent already: it made the key “{name}” ({prefix}…), whose key was shown once then. "
        "Nothing new was made; if the key was not copied, revoke it and create another."
    )
