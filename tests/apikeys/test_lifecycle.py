"""Keys nearing their end: reminders once each at 14, 7 and 1 days, automatic rotation with a single
reveal, and the report of keys never used or expiring."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.apikeys.lifecycle import key_lifecycle_run
from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_create
from apps.audit.models import AuditEvent
from apps.core import crypto
from apps.core.events import platform_event
from apps.tenants.roles import Role
from apps.webhooks.models import WebhookDelivery
from tests.base.cases_webhooks import endpoint
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
KEY = re.compile(r'value="(pk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+)"')


def _key(world, role=Role.DEVELOPER, name="ci", **kwargs):
    return apikey_create(actor=world.principal(role), tenant=world.acme, name=name, scopes=["apps:read"], **kwargs)[0]


def _expires_in(api_key, **delta):
    """Move the clock by moving the key: it now expires `delta` from now."""
    APIKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() + timedelta(**delta))


def _run(capture):
    with capture(execute=True):
        return key_lifecycle_run()


@pytest.fixture
def events():
    heard = []

    def listen(sender, tenant_id, event, data, **kwargs):
        heard.append((event, data))

    platform_event.connect(listen)
    yield heard
    platform_event.disconnect(listen)


def test_reminders_go_out_once_each_at_14_7_and_1_days(world, django_capture_on_commit_callbacks, events):
    api_key = _key(world)
    _key(world, name="far away")  # 90 days: nothing yet
    assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 0}

    for days, expected in ((13.5, 14), (6.5, 7), (0.5, 1)):
        _expires_in(api_key, days=days)
        assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 1}
        assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 0}
        api_key.refresh_from_db()
        assert min(api_key.reminders_sent) == expected
    assert [message.to for message in mail.outbox] == [["developer@acme.test"]] * 3
    assert "expires" in mail.outbox[0].subject and "in 14 days" in mail.outbox[0].subject
    assert "/console/?tenant=acme" in mail.outbox[0].body and api_key.prefix in mail.outbox[0].body
    assert [data["days_left"] for event, data in events if event == "apikey.expiring"] == [14, 7, 1]
    assert events[0][1]["api_key"] == api_key.pk and events[0][1]["prefix"] == api_key.prefix


def test_a_key_created_late_gets_only_the_reminder_due(world, django_capture_on_commit_callbacks):
    api_key = _key(world, expires_in_days=5)
    assert _run(django_capture_on_commit_callbacks)["reminded"] == 1
    api_key.refresh_from_db()
    assert api_key.reminders_sent == [14, 7] and len(mail.outbox) == 1


def test_revoked_expired_and_rotated_keys_get_no_reminder(world, django_capture_on_commit_callbacks, events):
    from apps.apikeys.services import apikey_revoke, apikey_rotate

    revoked = _key(world, expires_in_days=3)
    apikey_revoke(actor=world.principal(Role.DEVELOPER), api_key=revoked)
    expired = _key(world, expires_in_days=3)
    _expires_in(expired, minutes=-1)
    rotated = _key(world, expires_in_days=3)
    successor, _ = apikey_rotate(actor=world.principal(Role.DEVELOPER), api_key=rotated, overlap_hours=1)
    # Only the successor, which has the same short lifetime, is reminded; the old key ends by design.
    assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 1}
    assert [data["api_key"] for event, data in events if event == "apikey.expiring"] == [successor.pk]
    assert len(mail.outbox) == 1


def test_the_expiring_event_reaches_a_webhook_delivery(world, django_capture_on_commit_callbacks):
    endpoint(world.acme, events=["apikey.expiring"])
    api_key = _key(world, expires_in_days=1)
    _run(django_capture_on_commit_callbacks)
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "apikey.expiring" and delivery.tenant == world.acme
    assert delivery.payload["data"] == {
        "api_key": api_key.pk,
        "name": "ci",
        "prefix": api_key.prefix,
        "owner": "developer@acme.test",
        "days_left": 1,
        "expires_at": APIKey.objects.get(pk=api_key.pk).expires_at.isoformat(),
    }


def test_auto_rotation_seals_the_successor_for_a_single_reveal(
    world, client, django_capture_on_commit_callbacks, events
):
    endpoint(world.acme, events=["apikey.rotated"])
    api_key = _key(world, auto_rotate=True)
    APIKey.objects.filter(pk=api_key.pk).update(created_at=timezone.now() - timedelta(days=82))
    _expires_in(api_key, days=8)
    assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 1}  # the 14-day reminder
    _expires_in(api_key, days=6)
    assert _run(django_capture_on_commit_callbacks) == {"rotated": 1, "reminded": 0}
    assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 0}

    successor = APIKey.objects.get(rotated_from=api_key)
    # The same lifetime (88 days, plus the moments between the two updates above that set it).
    assert timedelta(days=87) < successor.expires_at - timezone.now() <= timedelta(days=88, seconds=5)
    old_expiry = APIKey.objects.get(pk=api_key.pk).expires_at
    assert timedelta(days=5) < old_expiry - timezone.now() <= timedelta(days=6)  # the old key keeps its expiry
    assert successor.sealed_key and successor.auto_rotate and successor.is_active
    plaintext = crypto.decrypt(successor.sealed_key)
    assert plaintext.startswith(successor.prefix)
    rotated_mail = mail.outbox[-1]
    assert "A new API key replaces" in rotated_mail.subject and plaintext not in rotated_mail.body
    assert "/console/?tenant=acme" in rotated_mail.body
    assert any(event == "apikey.rotated" and data["automatic"] for event, data in events)
    assert WebhookDelivery.objects.filter(event="apikey.rotated").count() == 1
    assert plaintext not in str(list(AuditEvent.objects.values_list("changes", flat=True)))

    client.force_login(world.user(Role.DEVELOPER))
    console = client.get("/console/").content.decode()
    assert "A rotated key is ready" in console and f"/t/acme/keys/{successor.pk}/reveal/" in console
    reveal = f"/t/acme/keys/{successor.pk}/reveal/"
    assert client.post(reveal)["Location"].startswith("/accounts/reauthenticate/")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert 'id="reveal-key"' in client.get(reveal).content.decode()
    response = client.post(reveal)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert KEY.search(response.content.decode()).group(1) == plaintext
    successor.refresh_from_db()
    assert successor.sealed_key == ""
    again = client.post(reveal, follow=True).content.decode()
    assert plaintext not in again and "revealed already" in again
    assert "A rotated key is ready" not in client.get("/console/").content.decode()


def test_only_the_owner_reveals(world, client):
    from apps.apikeys.services import apikey_auto_rotate

    api_key = _key(world, auto_rotate=True)
    successor = apikey_auto_rotate(api_key=api_key)
    admin = world.user(Role.ADMIN)
    client.force_login(admin)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = client.post(f"/t/acme/keys/{successor.pk}/reveal/", follow=True)
    assert "You cannot reveal this key." in response.content.decode()
    successor.refresh_from_db()
    assert successor.sealed_key
    client.force_login(world.outsider)
    assert client.post(f"/t/acme/keys/{successor.pk}/reveal/").status_code == 404


def test_auto_rotation_is_chosen_at_creation_and_toggled_later(world, client, api):
    client.force_login(world.user(Role.DEVELOPER))
    client.post(
        "/t/acme/keys/", {"name": "deploy bot", "scopes": ["apps:read"], "expires_in_days": 30, "auto_rotate": "on"}
    )
    api_key = APIKey.objects.get(name="deploy bot")
    assert api_key.auto_rotate
    client.post(f"/t/acme/keys/{api_key.pk}/auto-rotate/", {"return_to": "console"})
    api_key.refresh_from_db()
    assert not api_key.auto_rotate
    response = api.as_user(world.user(Role.DEVELOPER)).post(
        f"/api/v1/api-keys/{api_key.pk}/auto-rotate/", {"auto_rotate": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["auto_rotate"] is True
    response = api.as_user(world.user(Role.ADMIN)).post(
        f"/api/v1/api-keys/{api_key.pk}/auto-rotate/", {"auto_rotate": False}, format="json"
    )
    assert response.status_code == 403


def test_the_report_lists_keys_never_used_and_expiring(world, api, client):
    stale = _key(world, name="stale")
    APIKey.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=40))
    used = _key(world, name="used")
    APIKey.objects.filter(pk=used.pk).update(
        created_at=timezone.now() - timedelta(days=40), last_used_at=timezone.now()
    )
    soon = _key(world, name="soon", expires_in_days=3)
    admins = _key(world, role=Role.ADMIN, name="admin's", expires_in_days=2)
    apikey_create(
        actor=world.principal(Role.OWNER, "globex"),
        tenant=world.globex,
        name="theirs",
        scopes=["apps:read"],
        expires_in_days=2,
    )

    body = api.as_user(world.user(Role.DEVELOPER)).get("/api/v1/api-keys/report/").json()
    assert [key["name"] for key in body["never_used"]] == ["stale"]
    assert [key["name"] for key in body["expiring"]] == ["soon"]  # members see their own keys only
    body = api.as_user(world.user(Role.ADMIN)).get("/api/v1/api-keys/report/?tenant=acme").json()
    assert [key["id"] for key in body["expiring"]] == [admins.pk, soon.pk]
    assert body["unused_days"] == 30 and body["expiring_days"] == 14
    body = api.as_user(world.user(Role.DEVELOPER)).get("/api/v1/api-keys/report/?unused_days=50").json()
    assert body["never_used"] == []
    assert api.as_user(world.user(Role.DEVELOPER)).get("/api/v1/api-keys/report/?unused_days=0").status_code == 400

    client.force_login(world.user(Role.ADMIN))
    page = client.get("/t/acme/keys/").content.decode()
    assert 'id="key-report"' in page and "soon" in page and "theirs" not in page


def test_a_suspended_tenants_keys_are_neither_rotated_nor_revealed_nor_set_to_rotate(
    world, client, api, django_capture_on_commit_callbacks
):
    """Only revoking goes on in a suspended tenant: no key is minted there, by its owner or by the
    platform's automatic rotation (which reminds of the expiry instead), and none is revealed."""
    from apps.apikeys.services import apikey_auto_rotate
    from apps.tenants.services import tenant_set_status

    due = _key(world, name="due", auto_rotate=True)
    APIKey.objects.filter(pk=due.pk).update(created_at=timezone.now() - timedelta(days=82))
    _expires_in(due, days=6)
    sealed = apikey_auto_rotate(api_key=_key(world, name="sealed", auto_rotate=True))  # waits to be revealed
    manual = _key(world, name="manual")
    tenant_set_status(operator=world.operator_principal, tenant=world.acme, status="suspended", reason="a leak")

    assert _run(django_capture_on_commit_callbacks) == {"rotated": 0, "reminded": 1}
    api.as_user(world.user(Role.DEVELOPER))
    for path, body in (("rotate/", {"overlap_hours": 1}), ("auto-rotate/", {"auto_rotate": True})):
        refused = api.post(f"/api/v1/api-keys/{manual.pk}/{path}", body, format="json")
        assert refused.status_code == 403 and refused.json()["code"] == "tenant_suspended", refused.json()
        # Someone else's key is refused for that, as in an active tenant.
        theirs = api.as_user(world.user(Role.ADMIN)).post(f"/api/v1/api-keys/{manual.pk}/{path}", body, format="json")
        assert theirs.status_code == 403 and theirs.json()["code"] == "permission_denied", theirs.json()
        api.as_user(world.user(Role.DEVELOPER))
    client.force_login(world.user(Role.DEVELOPER))
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    refused = client.post(f"/t/acme/keys/{sealed.pk}/reveal/", follow=True).content.decode()
    assert "suspended" in refused and crypto.decrypt(APIKey.objects.get(pk=sealed.pk).sealed_key) not in refused
    assert APIKey.objects.filter(tenant=world.acme).count() == 4  # due, sealed's predecessor and itself, manual
    manual.refresh_from_db()
    assert not manual.auto_rotate

    # The pages offer what still works: revoking, and no rotate, auto-rotate or reveal.
    for page in (client.get("/t/acme/keys/"), client.get("/console/?tenant=acme")):
        text = page.content.decode()
        assert 'id="keys-suspended"' in text and f'aria-label="Revoke {manual.name}"' in text
        for action in (f"{manual.pk}/rotate/", f"{manual.pk}/auto-rotate/", f"{sealed.pk}/reveal/"):
            assert f"/t/acme/keys/{action}" not in text
