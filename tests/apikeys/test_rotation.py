"""Rotating a key: a successor shown once, both keys work during the overlap, then only the new one."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_create, apikey_revoke, apikey_rotate
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.tenants.roles import Role

pytestmark = pytest.mark.django_db
KEY = re.compile(r'value="(pk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+)"')


def _key(world, role=Role.DEVELOPER, days=90, **kwargs):
    return apikey_create(
        actor=world.principal(role),
        tenant=world.acme,
        name="ci",
        scopes=["apps:read", "apikeys:read"],
        expires_in_days=days,
        **kwargs,
    )


def _lookup(plaintext):
    return APIKey.objects.get(lookup=plaintext.split("_")[1])


def test_rotating_over_the_api_returns_the_successor_once_and_both_keys_work_during_the_overlap(world, api):
    old, old_plaintext = _key(world, days=30, allowed_ips=["127.0.0.1"])
    response = api.as_user(world.user(Role.DEVELOPER)).post(
        f"/api/v1/api-keys/{old.pk}/rotate/", {"overlap_hours": 2}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    new_plaintext = body["key"]
    successor = _lookup(new_plaintext)
    assert body["id"] == successor.pk and body["rotated_from"] == old.pk and successor.pk != old.pk
    assert (successor.name, successor.scopes, successor.allowed_ips, successor.user) == (
        old.name,
        old.scopes,
        old.allowed_ips,
        old.user,
    )
    assert abs(successor.lifetime - timedelta(days=30)) < timedelta(seconds=5)
    old.refresh_from_db()
    assert timedelta(hours=1, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=2)

    for plaintext in (old_plaintext, new_plaintext):
        assert api.with_key(plaintext).get("/api/v1/api-keys/").status_code == 200
    # The plaintext is never readable again.
    detail = api.as_user(world.user(Role.DEVELOPER)).get(f"/api/v1/api-keys/{successor.pk}/").json()
    assert "key" not in detail and new_plaintext not in str(detail)
    assert AuditEvent.objects.filter(action="apikey.rotate", object_id=str(old.pk)).exists()

    APIKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))  # the overlap ends
    response = api.with_key(old_plaintext).get("/api/v1/api-keys/")
    assert response.status_code == 401 and response.json()["code"] == "key_expired"
    assert api.with_key(new_plaintext).get("/api/v1/api-keys/").status_code == 200


def test_the_overlap_never_extends_the_old_key(world):
    old, _ = _key(world, days=1)
    expiry = old.expires_at
    apikey_rotate(actor=world.principal(Role.DEVELOPER), api_key=old, overlap_hours=168)
    old.refresh_from_db()
    assert old.expires_at == expiry


@pytest.mark.parametrize("hours", [-1, 169, "soon"])
def test_the_overlap_is_bounded(world, hours):
    old, _ = _key(world)
    with pytest.raises(ApplicationError) as refused:
        apikey_rotate(actor=world.principal(Role.DEVELOPER), api_key=old, overlap_hours=hours)
    assert refused.value.field == "overlap_hours" and not old.successors.exists()


def test_an_idempotent_retry_returns_the_same_successor_not_a_second_key(world, api):
    old, _ = _key(world)
    client = api.as_user(world.user(Role.DEVELOPER))
    first = client.post(
        f"/api/v1/api-keys/{old.pk}/rotate/", {"overlap_hours": 1}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1"
    )
    again = client.post(
        f"/api/v1/api-keys/{old.pk}/rotate/", {"overlap_hours": 1}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1"
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["key"] == first.json()["key"]
    assert APIKey.objects.filter(rotated_from=old).count() == 1
    # Without the header a second rotation of the same key is refused: rotate its successor instead.
    response = client.post(f"/api/v1/api-keys/{old.pk}/rotate/", {"overlap_hours": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_rotated"


def test_the_replayed_answer_is_not_stored_in_the_clear(world, api):
    from django.core.cache import cache

    from apps.core.idempotency import _slot

    old, _ = _key(world)
    client = api.as_user(world.user(Role.DEVELOPER))
    plaintext = client.post(
        f"/api/v1/api-keys/{old.pk}/rotate/", {}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-2"
    ).json()["key"]

    class Request:
        auth, user, method, path = None, world.user(Role.DEVELOPER), "POST", f"/api/v1/api-keys/{old.pk}/rotate/"

    stored = cache.get(_slot(Request, "rotate-2"))
    assert stored["body"]["id"] and plaintext not in str(stored)


def test_another_members_key_is_not_found_and_an_admin_cannot_mint_for_others(world, api):
    old, _ = _key(world)
    response = api.as_user(world.user(Role.VIEWER)).post(f"/api/v1/api-keys/{old.pk}/rotate/", {}, format="json")
    assert response.status_code == 404
    response = api.as_user(world.outsider).post(f"/api/v1/api-keys/{old.pk}/rotate/", {}, format="json")
    assert response.status_code == 404
    response = api.as_user(world.user(Role.ADMIN)).post(f"/api/v1/api-keys/{old.pk}/rotate/", {}, format="json")
    assert response.status_code == 403
    assert not old.successors.exists()


def test_a_key_cannot_rotate_keys(world, api):
    writer = world.key(Role.DEVELOPER, scopes=["apikeys:write"])
    response = api.with_key(writer).post(f"/api/v1/api-keys/{_lookup(writer).pk}/rotate/", {}, format="json")
    assert response.status_code == 403 and not APIKey.objects.filter(rotated_from__isnull=False).exists()


def test_revoked_and_expired_keys_cannot_be_rotated(world, api):
    revoked, _ = _key(world)
    apikey_revoke(actor=world.principal(Role.DEVELOPER), api_key=revoked)
    expired, _ = _key(world)
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client = api.as_user(world.user(Role.DEVELOPER))
    for api_key in (revoked, expired):
        response = client.post(f"/api/v1/api-keys/{api_key.pk}/rotate/", {}, format="json")
        assert response.status_code == 409 and response.json()["code"] == "key_not_active"
    assert not APIKey.objects.filter(rotated_from__isnull=False).exists()


def test_rotating_in_the_browser_shows_the_successor_once(world, client):
    old, old_plaintext = _key(world)
    client.force_login(world.user(Role.DEVELOPER))
    page = client.get("/t/acme/keys/")
    assert f'action="/t/acme/keys/{old.pk}/rotate/"' in page.content.decode()
    response = client.post(f"/t/acme/keys/{old.pk}/rotate/", {"overlap_hours": "0", "return_to": "console"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    plaintext = KEY.search(response.content.decode()).group(1)
    assert _lookup(plaintext).rotated_from == old and 'href="/console/?tenant=acme"' in response.content.decode()
    old.refresh_from_db()
    assert old.is_expired  # no overlap: the old key stopped at once, and the page says so
    assert "stopped working at once" in response.content.decode() and "before then" not in response.content.decode()
    assert plaintext not in client.get("/t/acme/keys/").content.decode()
    assert plaintext not in client.get("/console/").content.decode()


def test_a_refused_rotation_in_the_browser_explains_itself(world, client):
    old, _ = _key(world)
    client.force_login(world.user(Role.DEVELOPER))
    response = client.post(f"/t/acme/keys/{old.pk}/rotate/", {"overlap_hours": "500"}, follow=True)
    assert "The overlap is 0 to 168 hours." in response.content.decode() and not old.successors.exists()
