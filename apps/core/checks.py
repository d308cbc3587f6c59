"""System checks for settings that would otherwise fail only when first used."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register


@register()
def field_encryption_keys(app_configs, **kwargs):
    """Every FIELD_ENCRYPTION_KEYS entry must be a Fernet key, or secrets at rest cannot be read."""
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or []
    if not keys:
        return [Error("FIELD_ENCRYPTION_KEYS is empty; secrets at rest cannot be encrypted.", id="portal.E001")]
    errors = []
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEYS entry {index + 1} is not a valid Fernet key.",
                    hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'",
                    id="portal.E002",
                )
            )
    return errors
