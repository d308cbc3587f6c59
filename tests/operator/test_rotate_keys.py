"""Key rotation: every secret at rest is re-encrypted with the newest key and still reads back."""

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register

pytestmark = pytest.mark.django_db


def test_rotation_moves_every_secret_to_the_new_key(world, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    cluster = cluster_register(operator=world.operator, name="rot", auth_method="token",
                               api_url="https://k8s.example.com", credentials={"token": "tok-123"})
    from apps.core import crypto

    Authenticator.objects.create(user=world.user("owner"), type=Authenticator.Type.TOTP,
                                 data={"secret": crypto.encrypt("JBSWY3DPEHPK3PXP")})

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything must still decrypt
    assert Cluster.objects.get(pk=cluster.pk).credentials["token"] == "tok-123"
    stored = Authenticator.objects.get(user=world.user("owner")).data["secret"]
    assert crypto.decrypt(stored) == "JBSWY3DPEHPK3PXP"

    settings.FIELD_ENCRYPTION_KEYS = [old_key]  # and the old key alone no longer can
    with pytest.raises(InvalidToken):
        crypto.decrypt(stored)
