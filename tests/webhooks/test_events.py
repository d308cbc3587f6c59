"""Which events become deliveries: subscriptions and patterns, quota warnings, expiring keys."""

from datetime import date

import pytest

from apps.apikeys.lifecycle import key_lifecycle_run
from apps.apikeys.notices import on_quota_warning
from apps.apikeys.services import apikey_create
from apps.core.events import platform_event
from apps.tenants.roles import Role
from apps.webhooks.events import matches, subscription_check
from apps.webhooks.models import WebhookDelivery
from tests.base.cases_webhooks import endpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("subscriptions", "event", "expected"),
    [
        (["deployment.*"], "deployment.succeeded", True),
        (["deployment.*"], "deploymentx.succeeded", False),
        (["deployment.failed"], "deployment.succeeded", False),
        (["change_request.*"], "change_request.approved", True),
        (["*"], "quota.warning", True),
        (["quota.warning"], "apikey.expiring", False),
    ],
)
def test_subscriptions_match_event_types_and_groups(subscriptions, event, expected):
    assert matches(subscriptions, event) is expected


def test_unknown_events_are_refused():
    with pytest.raises(ValueError, match="deployment.exploded"):
        subscription_check(["deployment.exploded"])
    with pytest.raises(ValueError):
        subscription_check([])
    assert subscription_check(["quota.warning", "deployment.*", "quota.warning"]) == ["deployment.*", "quota.warning"]


def test_a_platform_event_reaches_only_the_tenants_matching_active_endpoints(world):
    wanted = endpoint(world.acme)
    endpoint(world.acme, events=["change_request.*"])
    endpoint(world.acme, is_active=False)
    endpoint(world.globex)
    platform_event.send(sender=None, tenant_id=world.acme.pk, event="deployment.failed", data={"deployment": 3})
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint == wanted and delivery.tenant == world.acme
    assert delivery.payload["type"] == "deployment.failed" and delivery.payload["tenant"] == "acme"
    assert delivery.payload["data"] == {"deployment": 3} and delivery.payload["id"] == str(delivery.event_id)


def test_a_quota_warning_is_an_event(world):
    endpoint(world.acme, events=["quota.warning"])
    on_quota_warning(
        tenant_id=world.acme.pk, period="day", period_start=date(2026, 5, 1), threshold=80, used=800, quota=1000
    )
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "quota.warning"
    assert delivery.payload["data"] == {
        "period": "day",
        "period_start": "2026-05-01",
        "threshold": 80,
        "used": 800,
        "quota": 1000,
    }


def test_a_key_about_to_expire_is_announced_once_per_reminder(world, django_capture_on_commit_callbacks):
    """The event comes from the API-key lifecycle task, like every other platform event."""
    endpoint(world.acme, events=["apikey.expiring"])
    soon, _ = apikey_create(
        actor=world.principal(Role.DEVELOPER), tenant=world.acme, name="ci", scopes=["apps:read"], expires_in_days=3
    )
    apikey_create(
        actor=world.principal(Role.DEVELOPER), tenant=world.acme, name="later", scopes=["apps:read"], expires_in_days=90
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert key_lifecycle_run() == {"rotated": 0, "reminded": 1}
    with django_capture_on_commit_callbacks(execute=True):
        assert key_lifecycle_run() == {"rotated": 0, "reminded": 0}
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "apikey.expiring" and delivery.payload["data"]["api_key"] == soon.pk
    assert delivery.payload["data"]["prefix"] == soon.prefix and delivery.payload["data"]["days_left"] == 3
