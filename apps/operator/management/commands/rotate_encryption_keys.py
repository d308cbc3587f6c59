"""Re-encrypt every secret at rest with the newest FIELD_ENCRYPTION_KEYS entry.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy, run
this command, then drop the old keys.
"""

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.clusters.models import Cluster
from apps.core import crypto

# Fields of allauth's authenticator data that our MFA adapter encrypts.
MFA_ENCRYPTED_FIELDS = ("secret", "seed")


class Command(BaseCommand):
    help = "Re-encrypt cluster credentials and MFA secrets with the newest field-encryption key."

    @transaction.atomic
    def handle(self, *args, **options):
        clusters = 0
        for cluster in Cluster.objects.select_for_update().exclude(credentials_encrypted=""):
            cluster.credentials_encrypted = crypto.rotate(cluster.credentials_encrypted)
            cluster.save(update_fields=["credentials_encrypted"])
            clusters += 1
        authenticators = 0
        for authenticator in Authenticator.objects.select_for_update():
            data = dict(authenticator.data)
            changed = False
            for name in MFA_ENCRYPTED_FIELDS:
                if data.get(name):
                    data[name], changed = crypto.rotate(data[name]), True
            if changed:
                authenticator.data = data
                authenticator.save(update_fields=["data"])
                authenticators += 1
        self.stdout.write(f"Re-encrypted {clusters} cluster credential set(s) and {authenticators} MFA secret(s).")
