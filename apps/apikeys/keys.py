"""Making and checking key material. Only this module knows the key formats and the digest.

Two kinds of key share it: portal API keys (`pk_…`, apps/apikeys) and the consumer keys tenants give
the consumers of their own APIs (`ck_…`, apps/traffic). The prefix is part of the digested key, so a
key of one kind never matches a row of the other.
"""

import hashlib
import hmac
import re
import secrets

from django.conf import settings

PORTAL = "pk"
CONSUMER = "ck"
_PATTERNS = {
    prefix: re.compile(rf"^{prefix}_([A-Za-z0-9]{{12}})_([A-Za-z0-9_-]{{32,64}})$") for prefix in (PORTAL, CONSUMER)
}
KEY_PATTERN = _PATTERNS[PORTAL]
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def generate(prefix: str = PORTAL) -> tuple[str, str]:
    """Return (lookup, full key). The secret part carries 256 bits of randomness."""
    lookup = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return lookup, f"{prefix}_{lookup}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    """HMAC-SHA256 under the pepper: fast to check, useless to whoever steals the table alone."""
    return hmac.new(settings.API_KEY_PEPPER.encode(), key.encode(), hashlib.sha256).hexdigest()


def parse(key: str, prefix: str = PORTAL) -> str | None:
    """The lookup part of a well-formed key of this kind, else None."""
    match = _PATTERNS[prefix].match(key)
    return match.group(1) if match else None


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key), stored_digest)
