"""The webhooks API beyond the generic isolation suite: delivery filters, replay rules, validation."""

import pytest

from apps.tenants.roles import Role
from apps.webhooks.models import DeliveryState, WebhookDelivery
from tests.base.cases_webhooks import PUBLIC_URL, delivery, endpoint

pytestmark = pytest.mark.django_db


def test_deliveries_filter_by_endpoint_state_and_event(world, api):
    first, second = endpoint(world.acme), endpoint(world.acme)
    ok = delivery(first)
    failed = delivery(second, state=DeliveryState.FAILED, event="quota.warning")
    api.as_user(world.user(Role.ADMIN))

    def ids(**query):
        return {row["id"] for row in api.get("/api/v1/webhook-deliveries/", query).json()["results"]}

    assert ids() == {ok.pk, failed.pk}
    assert ids(endpoint=first.pk) == {ok.pk}
    assert ids(state="failed") == {failed.pk}
    assert ids(event="quota.warning") == {failed.pk}
    assert ids(endpoint=endpoint(world.globex).pk) == set()


def test_replay_needs_an_admin_of_the_tenant_and_an_enabled_endpoint(world, api):
    row = delivery(endpoint(world.acme))
    url = f"/api/v1/webhook-deliveries/{row.pk}/replay/"
    api.as_user(world.user(Role.DEVELOPER))
    assert api.post(url).status_code == 404
    api.as_user(world.outsider)
    assert api.post(url).status_code == 404
    api.with_key(world.key(Role.ADMIN, scopes=["webhooks:read"]))
    assert api.post(url).json()["code"] == "missing_scope"

    api.as_user(world.user(Role.ADMIN))
    response = api.post(url)
    assert response.status_code == 202
    replay = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert replay.replay_of == row and replay.payload == row.payload and replay.event_id == row.event_id
    assert replay.state == DeliveryState.PENDING

    row.endpoint.is_active = False
    row.endpoint.save()
    refused = api.post(url)
    assert refused.status_code == 409 and refused.json()["code"] == "endpoint_disabled"


def test_events_are_validated_and_endpoints_are_bounded(world, api, settings):
    api.as_user(world.user(Role.OWNER))
    bad = api.post(
        "/api/v1/webhooks/", {"tenant": "acme", "url": PUBLIC_URL, "events": ["deploy.everything"]}, format="json"
    )
    assert bad.status_code == 400 and "events" in bad.json()["fields"]

    settings.WEBHOOK_MAX_ENDPOINTS_PER_TENANT = 1
    payload = {"tenant": "acme", "url": PUBLIC_URL, "events": ["*"]}
    assert api.post("/api/v1/webhooks/", payload, format="json").status_code == 201
    assert api.post("/api/v1/webhooks/", payload, format="json").json()["code"] == "too_many_endpoints"


def test_an_active_endpoint_cannot_be_enabled_twice(world, api):
    row = endpoint(world.acme)
    api.as_user(world.user(Role.ADMIN))
    response = api.post(f"/api/v1/webhooks/{row.pk}/enable/")
    assert response.status_code == 409 and response.json()["code"] == "already_active"
