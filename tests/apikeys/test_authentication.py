"""API-key authentication: every way a key can be wrong gives a clear JSON error; nothing secret is stored."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from apps.apikeys import keys
from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_revoke
from apps.core.errors import ApplicationError
from apps.tenants.roles import Role, scopes_for_role

pytestmark = pytest.mark.django_db

TENANTS = "/api/v1/tenants/"


def rejected(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_a_valid_key_reaches_its_tenant(world, api):
    api.with_key(world.key(Role.DEVELOPER))
    body = api.get(TENANTS).json()
    assert [tenant["slug"] for tenant in body] == ["acme"]
    assert body[0]["role"] == Role.DEVELOPER


def test_wrong_secret(world, api):
    key = world.key()
    rejected(api.with_key(key[:-4] + "abcd").get(TENANTS), 401, "invalid_key")


def test_unknown_and_malformed_keys(world, api):
    rejected(api.with_key("pk_AAAAAAAAAAAA_" + "x" * 43).get(TENANTS), 401, "invalid_key")
    rejected(api.with_key("not-a-key").get(TENANTS), 401, "invalid_key")


def test_expired_key(world, api):
    key = world.key()
    APIKey.objects.filter(lookup=keys.parse(key)).update(expires_at=timezone.now() - timedelta(seconds=1))
    rejected(api.with_key(key).get(TENANTS), 401, "key_expired")


def test_revocation_takes_effect_immediately(world, api):
    key = world.key()
    api.with_key(key)
    assert api.get(TENANTS).status_code == 200
    apikey_revoke(actor=world.principal(Role.OWNER), api_key=APIKey.objects.get(lookup=keys.parse(key)))
    rejected(api.get(TENANTS), 401, "key_revoked")


def test_missing_scope(world, api):
    api.with_key(world.key(scopes=["apps:read"]))
    rejected(api.get("/api/v1/environments/"), 403, "missing_scope")


def test_read_scope_does_not_allow_writes(world, api):
    api.with_key(world.key(scopes=["environments:read"]))
    assert api.get("/api/v1/environments/").status_code == 200
    rejected(api.post("/api/v1/environments/", {"tenant": "acme", "name": "qa"}, format="json"), 403, "missing_scope")


def test_ip_not_allowed(world, api):
    api.with_key(world.key(allowed_ips=["10.1.2.0/24"]))
    rejected(api.get(TENANTS, REMOTE_ADDR="192.0.2.7"), 403, "ip_not_allowed")
    assert api.get(TENANTS, REMOTE_ADDR="10.1.2.9").status_code == 200


def test_key_of_another_tenant_sees_nothing_of_acme(world, api):
    api.with_key(world.key(Role.OWNER, tenant="globex"))
    assert api.get(f"{TENANTS}acme/").status_code == 404
    assert api.get("/api/v1/environments/", {"tenant": "acme"}).json()["results"] == []


def test_scopes_never_exceed_the_creators_role(world):
    from apps.apikeys.services import apikey_create

    with pytest.raises(ApplicationError) as refused:
        apikey_create(
            actor=world.principal(Role.VIEWER), tenant=world.acme, name="sneaky", scopes=["environments:write"]
        )
    assert refused.value.code == "scope_not_allowed" and refused.value.field == "scopes"


def test_demoted_creator_loses_write_through_the_key(world, api):
    from apps.tenants.models import Membership

    key = world.key(Role.ADMIN, scopes=["environments:write"])
    Membership.objects.filter(user=world.user(Role.ADMIN), tenant=world.acme).update(role=Role.VIEWER)
    response = api.with_key(key).post("/api/v1/environments/", {"tenant": "acme", "name": "qa"}, format="json")
    assert response.status_code == 403, response.content


def test_expiry_is_required_and_bounded(world, api):
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(
        "/api/v1/api-keys/",
        {"tenant": "acme", "name": "x", "scopes": ["apps:read"], "expires_in_days": 400},
        format="json",
    )
    assert response.status_code == 400 and "expires_in_days" in response.json()["fields"]
    response = api.post("/api/v1/api-keys/", {"tenant": "acme", "name": "x", "scopes": ["apps:read"]}, format="json")
    created = response.json()
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    assert created["key"].startswith(created["prefix"])
    lifetime = APIKey.objects.get(pk=created["id"]).expires_at - timezone.now()
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
    assert "key" not in api.get(f"/api/v1/api-keys/{created['id']}/").json()


def test_the_database_never_holds_the_plaintext(world):
    plaintexts = [world.key(role) for role in (Role.OWNER, Role.DEVELOPER, Role.VIEWER)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM apikeys_apikey")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
        cursor.execute("SELECT changes::text FROM audit_auditevent")
        stored += " ".join(row[0] for row in cursor.fetchall())
    for plaintext in plaintexts:
        secret = plaintext.split("_", 2)[2]  # pk _ lookup _ secret; the secret may hold "_" itself
        assert plaintext not in stored and secret not in stored


def test_last_used_is_written_at_most_once_a_minute(world, api):
    key = world.key()
    api.with_key(key)
    api.get(TENANTS)
    first = APIKey.objects.get(lookup=keys.parse(key)).last_used_at
    api.get(TENANTS)
    assert APIKey.objects.get(lookup=keys.parse(key)).last_used_at == first
    APIKey.objects.filter(lookup=keys.parse(key)).update(last_used_at=first - timedelta(minutes=2))
    api.get(TENANTS)
    assert APIKey.objects.get(lookup=keys.parse(key)).last_used_at > first


def test_quota_on_keys_is_enforced_with_a_named_message(world, api):
    from apps.tenants.services import quota_set

    world.key()
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="api_keys", limit=1)
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(
        "/api/v1/api-keys/", {"tenant": "acme", "name": "one more", "scopes": ["apps:read"]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "quota_exceeded"
    assert "API keys quota of tenant acme is 1" in response.json()["detail"]


def test_management_command_prints_the_key_once(world):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key",
        "--tenant",
        "acme",
        "--user",
        "developer@acme.test",
        "--scopes",
        "apps:read,deployments:write",
        "--expires-days",
        "30",
        stdout=out,
        stderr=err,
    )
    plaintext = out.getvalue().strip()
    api_key = APIKey.objects.get(lookup=keys.parse(plaintext))
    assert keys.matches(plaintext, api_key.digest)
    assert api_key.scopes == ["apps:read", "deployments:write"]
    assert timedelta(days=29) < api_key.expires_at - timezone.now() <= timedelta(days=30)
    assert "shown only now" in err.getvalue() and plaintext not in err.getvalue()

    with pytest.raises(CommandError, match="cannot grant: environments:write"):
        call_command(
            "create_api_key",
            "--tenant",
            "acme",
            "--user",
            "viewer@acme.test",
            "--scopes",
            "environments:write",
            stdout=out,
            stderr=err,
        )


@pytest.mark.django_db
def test_management_command_scopes_all_grants_what_the_role_allows(world):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", tenant="acme", user="viewer@acme.test", scopes="all", stdout=out, stderr=err)
    api_key = APIKey.objects.get(lookup=keys.parse(out.getvalue().strip()))
    assert api_key.scopes == sorted(scopes_for_role(Role.VIEWER))
    assert "apps:read" in api_key.scopes and "apps:write" not in api_key.scopes  # a viewer reads apps, never writes

    with pytest.raises(CommandError, match="cannot create API keys"):
        call_command("create_api_key", tenant="globex", user="viewer@acme.test", scopes="all", stdout=out)
