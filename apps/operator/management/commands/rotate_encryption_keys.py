"""Re-encrypt every secret at rest with the newest FIELD_ENCRYPTION_KEYS entry.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy, run
this command, then drop the old keys. Every `EncryptedTextField` column of every model is rotated,
and so is every store an app registered with `crypto.register_rotation` (MFA secrets).
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core import crypto

BATCH = 500


def encrypted_columns() -> list[tuple[type, str]]:
    """(model, field name) of every encrypted column the project declares."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, crypto.EncryptedTextField)
    ]


def rotate_column(model, name: str) -> int:
    rows = list(model._base_manager.select_for_update().exclude(**{name: ""}).only("pk", name))
    for row in rows:
        setattr(row, name, crypto.rotate(getattr(row, name)))
    model._base_manager.bulk_update(rows, [name], batch_size=BATCH)
    return len(rows)


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column and registered secret with the newest field-encryption key."

    @transaction.atomic
    def handle(self, *args, **options):
        for model, name in encrypted_columns():
            count = rotate_column(model, name)
            self.stdout.write(f"{model._meta.label}.{name}: {count} re-encrypted")
        for label, rotate_all in crypto.rotations().items():
            self.stdout.write(f"{label}: {rotate_all()} re-encrypted")
