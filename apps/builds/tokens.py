"""The portal as the image registry's token issuer (Docker Registry v2 token authentication).

The registry is configured with `auth.token`: a client without a token is sent to the realm (the
portal's /registry/token/), which checks its credentials and answers a short-lived JWT listing the
repositories and actions it may use. The registry trusts the token because it is signed with the key
whose certificate sits in its rootcertbundle; the JWT header names the key by its `kid`, the
fingerprint the registry computes for each certificate it trusts.

A tenant's credentials only ever reach `<tenant>/*`: whatever else a client asks for is left out of
the token, and the registry then refuses it. The portal mints its own tokens (for pushes by the build
engine, and its reads of manifests and tags) without a round trip.

The signing key (ECDSA P-256, ES256) lives Fernet-encrypted in REGISTRY_TOKEN_KEY_FILE, made on first
use; `manage.py rotate_encryption_keys` re-encrypts it with the newest key.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.signals import setting_changed

from apps.core import crypto

PULL, PUSH, DELETE = "pull", "push", "delete"


@dataclass(frozen=True)
class Access:
    """One entry of a token's `access` claim: a resource and the actions allowed on it."""

    type: str
    name: str
    actions: tuple[str, ...]

    def claim(self) -> dict:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def repository(name: str, *actions: str) -> Access:
    return Access("repository", name, tuple(actions))


def parse_scope(scope: str) -> Access | None:
    """`repository:acme/shop:pull,push` as a client asks for it; None when it is not that shape."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return Access(kind, name, tuple(action for action in actions.split(",") if action))


def within_tenant(requested: list[Access], tenant_slug: str, allowed: set[str]) -> list[Access]:
    """What of `requested` a tenant's credential gets: repositories under `<tenant>/`, only the
    `allowed` actions. Everything else (another tenant's repository, the catalog) is left out."""
    granted = []
    for access in requested:
        if access.type != "repository" or not access.name.startswith(f"{tenant_slug}/"):
            continue
        actions = tuple(action for action in access.actions if action in allowed)
        if actions:
            granted.append(Access(access.type, access.name, actions))
    return granted


# --- The signing key ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    private_key: ec.EllipticCurvePrivateKey
    certificate_pem: str
    kid: str


def key_id(public_key) -> str:
    """The registry's name for a key: SHA-256 of its DER public key, the first 240 bits in base32,
    in groups of four separated by colons (what libtrust calls the key ID)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _new_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.REGISTRY_TOKEN_ISSUER} registry tokens")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return private_key, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _sealed(private_key: ec.EllipticCurvePrivateKey, certificate_pem: str) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps({"key": crypto.encrypt(pem), "certificate": certificate_pem}, indent=1)


def _key_file() -> Path:
    return Path(settings.REGISTRY_TOKEN_KEY_FILE)


@lru_cache(maxsize=1)
def signing_key() -> SigningKey:
    """The issuer's key, made (once, under a file lock, readable by this user only) when missing."""
    path = _key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            private_key, certificate_pem = _new_key()
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(_sealed(private_key, certificate_pem))
        stored = json.loads(path.read_text())
    pem = crypto.decrypt(stored["key"]).encode()
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} does not hold an ECDSA key.")
    return SigningKey(loaded, stored["certificate"], key_id(loaded.public_key()))


def certificate_bundle() -> str:
    """What the registry's rootcertbundle must hold for it to trust the portal's tokens."""
    return signing_key().certificate_pem


def rotate_key_file() -> int:
    """Re-encrypt the stored signing key with the newest FIELD_ENCRYPTION_KEYS key (1 when rewritten)."""
    path = _key_file()
    if not path.exists():
        return 0
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(path.read_text())
        stored["key"] = crypto.rotate(stored["key"])
        temporary = path.with_name(path.name + ".new")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(json.dumps(stored, indent=1))
        temporary.replace(path)
    return 1


def _forget(setting, **kwargs):
    if setting in ("REGISTRY_TOKEN_KEY_FILE", "FIELD_ENCRYPTION_KEYS", "REGISTRY_TOKEN_ISSUER"):
        signing_key.cache_clear()


setting_changed.connect(_forget)


# --- Tokens ---------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def issue(subject: str, access: list[Access], ttl: int | None = None) -> tuple[str, int]:
    """A signed JWT for `subject` granting `access` (empty: a token that opens nothing), and its
    lifetime in seconds."""
    key = signing_key()
    ttl = ttl or settings.REGISTRY_TOKEN_TTL_SECONDS
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256", "kid": key.kid}
    claims = {
        "iss": settings.REGISTRY_TOKEN_ISSUER,
        "sub": subject,
        "aud": settings.REGISTRY_TOKEN_SERVICE,
        "iat": now,
        "nbf": now - 10,
        "exp": now + ttl,
        "jti": secrets.token_hex(16),
        "access": [entry.claim() for entry in access],
    }
    signing_input = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    r, s = decode_dss_signature(key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{_b64(signature)}", ttl


_cache: dict[tuple, tuple[str, float]] = {}


def portal_token(access: list[Access]) -> str:
    """A token for the portal's own calls (pushes, reads of manifests and tags, deletes), reused
    until a minute before it expires."""
    cache_key = tuple(access)
    cached = _cache.get(cache_key)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    token, ttl = issue(settings.REGISTRY_TOKEN_ISSUER, access)
    if len(_cache) > 256:
        _cache.clear()
    _cache[cache_key] = (token, time.monotonic() + ttl - 60)
    return token
