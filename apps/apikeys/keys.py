"""Making and checking key material. Only this module knows the key format and the digest."""

import hashlib
import hmac
import re
import secrets

from django.conf import settings

KEY_PATTERN = re.compile(r"^pk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def generate() -> tuple[str, str]:
    """Return (lookup, full key). The secret part carries 256 bits of randomness."""
    lookup = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return lookup, f"pk_{lookup}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    """HMAC-SHA256 under the pepper: fast to check, useless to whoever steals the table alone."""
    return hmac.new(settings.API_KEY_PEPPER.encode(), key.encode(), hashlib.sha256).hexdigest()


def parse(key: str) -> str | None:
    """The lookup part of a well-formed key, else None."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key), stored_digest)
