"""The API key pages: the key is shown once and stored only as a digest; scopes follow the role."""

import re

import pytest

from apps.apikeys import keys
from apps.apikeys.models import APIKey
from apps.tenants.roles import Role
from tests.factories import APIKeyFactory, MembershipFactory, TenantFactory

KEY = re.compile(r'value="(pk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+)"')


def _member(tenant, role):
    return MembershipFactory(tenant=tenant, role=role, user__email=f"{role}@{tenant.slug}.test").user


@pytest.fixture
def acme(db):
    return TenantFactory(slug="acme", name="Acme Corp")


@pytest.fixture
def admin(acme):
    return _member(acme, Role.ADMIN)


@pytest.fixture
def developer(acme):
    return _member(acme, Role.DEVELOPER)


@pytest.fixture
def viewer(acme):
    return _member(acme, Role.VIEWER)


@pytest.fixture
def outsider(db):
    return _member(TenantFactory(slug="globex"), Role.OWNER)


def _create(client, **fields):
    data = {
        "name": "CI pipeline",
        "scopes": ["apps:read", "deployments:write"],
        "expires_in_days": "30",
        "allowed_ips": "10.0.0.0/8\n\n203.0.113.7\n",
    }
    return client.post("/t/acme/keys/", {**data, **fields})


def test_a_new_key_is_shown_once_and_stored_only_as_a_digest(client, developer):
    client.force_login(developer)
    response = _create(client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    plaintext = KEY.search(page).group(1)
    assert "only time it is shown" in page and 'data-copy-target="#plaintext-key"' in page

    key = APIKey.objects.get(tenant__slug="acme", user=developer)
    assert (key.name, key.scopes, key.allowed_ips) == (
        "CI pipeline",
        ["apps:read", "deployments:write"],
        ["10.0.0.0/8", "203.0.113.7/32"],
    )
    assert plaintext.startswith(key.prefix) and keys.matches(plaintext, key.digest)
    stored = APIKey.objects.filter(pk=key.pk).values().get()
    assert not any(plaintext in str(value) for value in stored.values())

    listing = client.get("/t/acme/keys/").content.decode()
    assert plaintext not in listing and f"{key.prefix}…" in listing


def test_sending_the_create_form_again_makes_no_second_key(client, developer):
    client.force_login(developer)
    once = re.search(r'name="once" value="([^"]+)"', client.get("/t/acme/keys/").content.decode()).group(1)
    plaintext = KEY.search(_create(client, once=once).content.decode()).group(1)
    again = client.post("/t/acme/keys/", {"name": "CI pipeline", "scopes": ["apps:read"], "once": once}, follow=True)
    page = again.content.decode()
    key = APIKey.objects.get(tenant__slug="acme", user=developer)  # still the only one
    assert "That form was sent already" in page and f"{key.prefix}" in page and plaintext not in page


def test_the_shown_key_authenticates_against_the_api(client, developer):
    client.force_login(developer)
    plaintext = KEY.search(_create(client).content.decode()).group(1)
    client.logout()
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {plaintext}", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200


def test_only_scopes_the_role_may_grant_are_offered_and_accepted(client, viewer):
    client.force_login(viewer)
    page = client.get("/t/acme/keys/").content.decode()
    assert 'value="apps:read"' in page and 'value="apps:write"' not in page
    response = _create(client, scopes=["apps:write"])
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not APIKey.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scopes": []}, "Choose at least one scope."),
        ({"expires_in_days": "400"}, "less than or equal to 365"),
        ({"allowed_ips": "not-an-ip"}, "“not-an-ip” is not an IP address or CIDR range."),
    ],
)
def test_refused_keys_show_the_reason_on_the_form(client, developer, fields, message):
    client.force_login(developer)
    response = _create(client, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not APIKey.objects.exists()


def test_a_keys_scopes_read_as_what_it_writes_and_what_it_only_reads(client, developer, acme):
    APIKeyFactory(tenant=acme, user=developer, scopes=["apps:read", "apps:write", "deployments:write", "audit:read"])
    client.force_login(developer)
    text = client.get("/t/acme/keys/").content.decode()
    cell = re.search(r'<td class="small key-scopes">(.*?)</td>', text, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", cell).split() == ["writes", "apps,", "deployments", "reads", "audit"]


def test_revoking_a_key(client, developer, acme):
    key = APIKeyFactory(tenant=acme, user=developer, name="old laptop")
    client.force_login(developer)
    response = client.post(f"/t/acme/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == developer
    page = client.get("/t/acme/keys/").content.decode()
    assert "is revoked" in page and '<span class="badge text-bg-danger">revoked</span>' in page
    assert f"/t/acme/keys/{key.pk}/revoke/" not in page


def test_a_suspended_tenants_member_still_revokes_their_key_but_makes_none(client, developer, acme):
    key = APIKeyFactory(tenant=acme, user=developer, name="leaked")
    acme.status = acme.Status.SUSPENDED
    acme.save(update_fields=["status"])
    client.force_login(developer)
    assert f"/t/acme/keys/{key.pk}/revoke/" in client.get("/t/acme/keys/").content.decode()
    assert client.post(f"/t/acme/keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.state == "revoked"
    refused = _create(client, name="another", scopes=["apps:read"])
    assert refused.status_code == 400 and "suspended" in refused.content.decode()
    assert APIKey.objects.filter(tenant=acme).count() == 1


def test_members_see_their_own_keys_and_admins_everyones(client, developer, viewer, admin, acme):
    mine = APIKeyFactory(tenant=acme, user=developer, name="dev key")
    theirs = APIKeyFactory(tenant=acme, user=viewer, name="viewer key")
    client.force_login(developer)
    page = client.get("/t/acme/keys/").content.decode()
    assert "dev key" in page and "viewer key" not in page and viewer.email not in page
    assert client.post(f"/t/acme/keys/{theirs.pk}/revoke/").status_code == 404

    client.force_login(admin)
    page = client.get("/t/acme/keys/").content.decode()
    assert "dev key" in page and "viewer key" in page and viewer.email in page
    assert client.post(f"/t/acme/keys/{mine.pk}/revoke/").status_code == 302
    mine.refresh_from_db()
    assert mine.state == "revoked"


def test_an_outsider_gets_404(client, outsider, developer, acme):
    key = APIKeyFactory(tenant=acme, user=developer)
    client.force_login(outsider)
    assert client.get("/t/acme/keys/").status_code == 404
    assert _create(client).status_code == 404
    assert client.post(f"/t/acme/keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
