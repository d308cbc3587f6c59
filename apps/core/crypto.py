"""Encryption of secrets at rest with MultiFernet.

FIELD_ENCRYPTION_KEYS lists Fernet keys, newest first: new values are encrypted with the first,
and every listed key still decrypts, so keys rotate without downtime.
"""

from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models

__all__ = ["EncryptedTextField", "InvalidToken", "decrypt", "encrypt", "register_rotation", "rotate", "rotations"]


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.FIELD_ENCRYPTION_KEYS])


def _reset(setting, **kwargs):
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_reset)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key."""
    return _fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A column that holds Fernet ciphertext made by `encrypt` (the model decrypts where it reads it).

    The type is the registry: `manage.py rotate_encryption_keys` re-encrypts every column of this type,
    so a new secret column is rotated by declaring it with this field, not by editing a list.
    """


# Secrets kept inside data the portal does not own (allauth's MFA JSON, say): a name and a function
# that re-encrypts them all and returns how many it changed.
_rotations: dict[str, Callable[[], int]] = {}


def register_rotation(name: str, rotate_all: Callable[[], int]) -> None:
    _rotations[name] = rotate_all


def rotations() -> dict[str, Callable[[], int]]:
    return dict(_rotations)
