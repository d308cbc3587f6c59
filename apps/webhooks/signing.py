"""How deliveries are signed: HMAC-SHA256 of "{id}.{timestamp}.{body}" under the endpoint's secret.

docs/webhooks.md describes the same scheme for receivers, with a verification snippet.
"""

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
VERSION = "v1"


def secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Webhook-Signature header value: "v1=<hex digest>"."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
