"""Forms that must not act twice. A page that answers a POST with something shown once (a new key) gets
reloaded, or left with Back and its form sent again, and each would make another. Such a form carries
a token of its own (`token()` in the page's context, a hidden field named FIELD); the session keeps the
tokens sent, each with the names of what it made, so a second sending is answered with those instead."""

import secrets

FIELD = "once"
KEPT = 20  # tokens kept per kind of form


def token() -> str:
    return secrets.token_urlsafe(12)


def _key(kind: str) -> str:
    return f"once:{kind}"


def sent_before(request, kind: str) -> list | None:
    """What the form sent with this request's token made the first time, else None."""
    sent = request.POST.get(FIELD, "")
    return request.session.get(_key(kind), {}).get(sent) if sent else None


def remember(request, kind: str, made: list) -> None:
    """Record that this request's token made `made` (names, never secrets: the session is stored)."""
    sent = request.POST.get(FIELD, "")
    if sent:
        kept = request.session.get(_key(kind), {})
        kept[sent] = made
        request.session[_key(kind)] = dict(list(kept.items())[-KEPT:])


def key_made_already(name: str, prefix: str) -> str:
    """What a page says to a key form sent again: the key the first sending made, and nothing new."""
    return (
        f"That form was sent already: it made the key “{name}” ({prefix}…), whose key was shown once then. "
        "Nothing new was made; if the key was not copied, revoke it and create another."
    )
