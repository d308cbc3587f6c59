"""The target rule: webhooks go to public http(s) addresses only, unless an operator allows private ones."""

import pytest
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.tenants.roles import Role
from apps.webhooks import targets
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.targets import TARGET_REFUSED, address_is_public
from tests.base.cases_webhooks import PUBLIC_URL, endpoint

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],
)
def test_non_public_addresses_are_recognised(address):
    assert not address_is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert address_is_public(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.5/",
        "http://[::1]:9000/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://0x7f.1/",
    ],
)
def test_loopback_and_private_targets_are_refused_at_creation(world, api, url):
    api.as_user(world.user(Role.ADMIN))
    response = api.post(URL, {"tenant": "acme", "url": url, "events": ["deployment.*"]}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == TARGET_REFUSED and "url" in response.json()["fields"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "file:///etc/passwd", "gopher://93.184.215.14/", "https://user:pass@93.184.215.14/"],
)
def test_other_schemes_and_credentials_are_refused(world, api, url):
    api.as_user(world.user(Role.ADMIN))
    response = api.post(URL, {"tenant": "acme", "url": url, "events": ["deployment.*"]}, format="json")
    assert response.status_code == 400 and "url" in response.json()["fields"]


def test_a_public_address_is_accepted_and_the_secret_is_shown_once_and_stored_encrypted(world, api):
    api.as_user(world.user(Role.ADMIN))
    response = api.post(
        URL, {"tenant": "acme", "url": PUBLIC_URL, "events": ["deployment.*", "quota.warning"]}, format="json"
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and response["Cache-Control"] == "no-store"
    row = WebhookEndpoint.objects.get()
    assert secret not in row.secret_encrypted and row.secret == secret
    again = api.get(f"{URL}{row.pk}/").json()
    assert "secret" not in again and secret not in str(api.get(URL).json())


def test_moving_an_endpoint_to_a_private_address_is_refused(world, api):
    row = endpoint(world.acme)
    api.as_user(world.user(Role.ADMIN))
    response = api.patch(f"{URL}{row.pk}/", {"url": "http://127.0.0.1:9/"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == TARGET_REFUSED
    row.refresh_from_db()
    assert row.url == PUBLIC_URL


def test_the_operator_setting_allows_private_targets(world, api):
    api.as_user(world.user(Role.ADMIN))
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True):
        response = api.post(URL, {"tenant": "acme", "url": "http://localhost:9/hook", "events": ["*"]}, format="json")
    assert response.status_code == 201, response.content
    # The scheme rule holds whatever the setting says.
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True):
        refused = api.post(URL, {"tenant": "acme", "url": "ftp://localhost/", "events": ["*"]}, format="json")
    assert refused.status_code == 400


def test_only_operators_allow_private_targets_and_it_is_audited(world, api):
    row = endpoint(world.acme)
    url = f"/api/v1/operator/webhooks/{row.pk}/"
    api.as_user(world.user(Role.OWNER))
    assert api.patch(url, {"allow_private": True}, format="json").status_code == 403
    # A tenant cannot set the flag through its own API either: the field is read-only there.
    api.patch(f"{URL}{row.pk}/", {"allow_private": True}, format="json")
    api.with_key(world.key(Role.OWNER))
    assert api.patch(url, {"allow_private": True}, format="json").status_code in (401, 403)
    row.refresh_from_db()
    assert row.allow_private is False

    api.as_user(world.operator)
    assert api.get("/api/v1/operator/webhooks/").json()["results"][0]["id"] == row.pk
    response = api.patch(url, {"allow_private": True}, format="json")
    assert response.status_code == 200 and response.json()["allow_private"] is True
    event = AuditEvent.objects.get(action="operator.webhook.allow_private")
    assert event.tenant_id == world.acme.pk
    assert event.changes == {"allow_private": [False, True], "allow_private_url": ["", row.url]}


def test_a_name_that_does_not_resolve_is_refused(world, monkeypatch):
    def fail(host, port):
        raise OSError("no such host")

    monkeypatch.setattr(targets, "resolve", fail)
    with pytest.raises(ApplicationError) as refused:
        targets.target_check("https://hooks.invalid/x")
    assert refused.value.code == TARGET_REFUSED
