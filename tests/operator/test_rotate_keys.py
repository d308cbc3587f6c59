"""Key rotation: every secret at rest is re-encrypted with the newest key and still reads back."""

import json

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.management import call_command
from django.db import models

from apps.accounts.models import SingleSignOn
from apps.apikeys.models import APIKey
from apps.builds import tokens
from apps.builds.access import pull_credential
from apps.builds.models import RegistryCredential
from apps.catalog.models import Application
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register
from apps.core import crypto
from apps.marketplace.models import ServiceBinding, ServiceInstance, ServiceOffering, ServicePlan, SharedServer
from apps.operator.management.commands.rotate_encryption_keys import encrypted_columns
from apps.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

# Every encrypted column the project declares, each seeded below: a new one fails the first test
# until it is seeded here too, and then it is proven to rotate.
SEEDED = {
    (Cluster, "credentials_encrypted"),
    (WebhookEndpoint, "secret_encrypted"),
    (APIKey, "sealed_key"),
    (SharedServer, "admin_url_encrypted"),
    (ServiceBinding, "credentials_encrypted"),
    (RegistryCredential, "password_encrypted"),
    (SingleSignOn, "client_secret_encrypted"),
}


def _addon_secrets(world):
    """A shared server's admin URL and a binding's credentials, both encrypted at rest."""
    server = SharedServer(name="rot", kind="postgres")
    server.admin_url = "postgres://admin:s3cret@db.example.com/postgres"
    server.save()
    offering = ServiceOffering.objects.create(slug="rot-pg", name="PostgreSQL", kind="postgres", server=server)
    plan = ServicePlan.objects.create(offering=offering, slug="small", name="Small")
    instance = ServiceInstance.objects.create(
        tenant=world.acme, environment=world.acme.environments.get(name="dev"), offering=offering, plan=plan, name="rot"
    )
    application = Application.objects.create(tenant=world.acme, name="rot-app", component_kind="web")
    binding = ServiceBinding(tenant=world.acme, instance=instance, application=application)
    binding.credentials = {"DATABASE_URL": "postgres://u:p@db.example.com/rot"}
    binding.save()
    return server, binding


def test_every_secret_column_is_an_encrypted_column_and_seeded_here():
    assert set(encrypted_columns()) == SEEDED
    plain = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.TextField)
        and not isinstance(field, crypto.EncryptedTextField)
        and any(word in field.name for word in ("encrypted", "sealed", "ciphertext"))
    ]
    assert plain == []


def test_rotation_moves_every_secret_to_the_new_key(world, settings, tmp_path):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.REGISTRY_TOKEN_KEY_FILE = str(tmp_path / "registry-token.key")
    signing_kid = tokens.signing_key().kid
    pull_password = pull_credential(world.acme).password
    cluster = cluster_register(
        operator=world.operator_principal,
        name="rot",
        auth_method="token",
        api_url="https://k8s.example.com",
        credentials={"token": "tok-123"},
    )
    endpoint = WebhookEndpoint(tenant=world.acme, url="https://hooks.example.com/in", events=["*"])
    endpoint.secret = "whsec_rotate_me"
    endpoint.save()
    world.key("owner")
    key = APIKey.objects.filter(tenant=world.acme).first()
    APIKey.objects.filter(pk=key.pk).update(sealed_key=crypto.encrypt("pk_sealed_successor"))
    Authenticator.objects.create(
        user=world.user("owner"), type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt("JBSWY3DPEHPK3PXP")}
    )
    server, binding = _addon_secrets(world)
    idp = SingleSignOn(pk=SingleSignOn.ROW)
    idp.client_secret = "idp-client-secret"
    idp.save()

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything must still decrypt
    assert Cluster.objects.get(pk=cluster.pk).credentials["token"] == "tok-123"
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_rotate_me"
    assert crypto.decrypt(APIKey.objects.get(pk=key.pk).sealed_key) == "pk_sealed_successor"
    stored = Authenticator.objects.get(user=world.user("owner")).data["secret"]
    assert crypto.decrypt(stored) == "JBSWY3DPEHPK3PXP"
    assert SharedServer.objects.get(pk=server.pk).admin_url.endswith("@db.example.com/postgres")
    assert ServiceBinding.objects.get(pk=binding.pk).credentials == {
        "DATABASE_URL": "postgres://u:p@db.example.com/rot"
    }
    assert RegistryCredential.objects.get(tenant=world.acme).password == pull_password
    assert SingleSignOn.objects.get().client_secret == "idp-client-secret"
    tokens.signing_key.cache_clear()
    assert tokens.signing_key().kid == signing_kid  # the registry's signing key, same key, new encryption

    settings.FIELD_ENCRYPTION_KEYS = [old_key]  # and the old key alone no longer can
    for token in (
        stored,
        WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted,
        APIKey.objects.get(pk=key.pk).sealed_key,
        Cluster.objects.get(pk=cluster.pk).credentials_encrypted,
        SharedServer.objects.get(pk=server.pk).admin_url_encrypted,
        ServiceBinding.objects.get(pk=binding.pk).credentials_encrypted,
        RegistryCredential.objects.get(tenant=world.acme).password_encrypted,
        SingleSignOn.objects.get().client_secret_encrypted,
        json.loads((tmp_path / "registry-token.key").read_text())["key"],
    ):
        with pytest.raises(InvalidToken):
            crypto.decrypt(token)
