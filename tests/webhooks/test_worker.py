"""Deliveries through a real Celery worker process to an independent receiver that checks signatures."""

import pytest

from apps.audit.models import AuditEvent
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_cancel
from apps.tenants.roles import Role
from apps.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from apps.webhooks.targets import TARGET_REFUSED
from tests.base.cases_deployments import _release
from tests.base.cases_webhooks import PUBLIC_URL
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(api, world, receiver, events=("deployment.*",)) -> WebhookEndpoint:
    """The tenant's admin subscribes (a public URL, since loopback is refused), and the operator allows
    the endpoint to reach exactly the loopback receiver's URL."""
    api.as_user(world.user(Role.ADMIN))
    response = api.post(
        "/api/v1/webhooks/", {"tenant": "acme", "url": PUBLIC_URL, "events": list(events)}, format="json"
    )
    assert response.status_code == 201, response.content
    receiver.secret = response.json()["secret"]
    pk = response.json()["id"]

    api.as_user(world.operator)
    response = api.patch(
        f"/api/v1/operator/webhooks/{pk}/", {"allow_private": True, "url": receiver.url}, format="json"
    )
    assert response.status_code == 200 and response.json()["allow_private"] is True
    assert response.json()["url"] == receiver.url
    return WebhookEndpoint.objects.get(pk=pk)


def test_a_deployment_state_change_reaches_the_receiver_signed(world, api, receiver, webhook_worker):
    api.as_user(world.user(Role.ADMIN))
    refused = api.post(
        "/api/v1/webhooks/", {"tenant": "acme", "url": receiver.url, "events": ["deployment.*"]}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == TARGET_REFUSED
    assert "url" in refused.json()["fields"]

    endpoint = subscribe(api, world, receiver)
    assert AuditEvent.objects.filter(
        action="operator.webhook.allow_private", object_id=str(endpoint.pk), actor=world.operator
    ).exists()

    release = _release(world.acme, "shop")
    deployment = Deployment.objects.create(
        tenant=world.acme,
        application=release.application,
        release=release,
        environment=world.acme.environments.get(name="dev"),
        state=State.QUEUED,
    )
    deployment_cancel(actor=world.principal(Role.DEVELOPER), deployment=deployment, reason="not today")

    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).first(), timeout=20
    )
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.verified, got.problem
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "paas-portal-webhooks/1"
    assert got.headers["Webhook-Id"] == got.payload["id"] == str(delivery.event_id)
    assert got.payload["type"] == "deployment.cancelled" and got.payload["tenant"] == "acme"
    assert got.payload["data"]["deployment"] == deployment.pk
    assert got.payload["data"]["previous_state"] == State.QUEUED
    assert delivery.attempts == 1 and delivery.response_code == 200 and delivery.latency_ms is not None
    # The receiver is a private target: its answer may be internal data and is not kept.
    assert delivery.response_body == ""


def test_failures_are_retried_then_replayed_and_a_rotated_secret_signs_at_once(world, api, receiver, webhook_worker):
    endpoint = subscribe(api, world, receiver)
    receiver.statuses = [500, 500]
    api.as_user(world.user(Role.ADMIN))
    response = api.post(f"/api/v1/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 202 and response.json()["event"] == "webhook.test"
    pk = response.json()["id"]

    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(pk=pk, state=DeliveryState.SUCCEEDED).first(), timeout=20
    )
    assert delivery.attempts == 3 and delivery.response_code == 200
    assert [r.verified for r in receiver.received] == [True, True, True]
    assert len({r.headers["Webhook-Id"] for r in receiver.received}) == 1  # one message, three attempts
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.is_active

    replay = api.post(f"/api/v1/webhook-deliveries/{pk}/replay/")
    assert replay.status_code == 202 and replay.json()["replay_of"] == pk and replay.json()["id"] != pk
    wait_for(lambda: WebhookDelivery.objects.filter(pk=replay.json()["id"], state=DeliveryState.SUCCEEDED).exists())
    assert len(receiver.received) == 4 and receiver.received[3].verified
    assert receiver.received[3].payload == receiver.received[0].payload

    old_secret = receiver.secret
    rotated = api.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != old_secret
    assert rotated["Cache-Control"] == "no-store"
    receiver.secret = rotated.json()["secret"]
    again = api.post(f"/api/v1/webhooks/{endpoint.pk}/test/").json()["id"]
    wait_for(lambda: WebhookDelivery.objects.filter(pk=again, state=DeliveryState.SUCCEEDED).exists())
    assert receiver.received[-1].verified


def test_an_endpoint_that_keeps_failing_is_disabled_by_the_worker(world, api, receiver, webhook_worker):
    endpoint = subscribe(api, world, receiver)
    receiver.statuses = [503] * 100
    api.as_user(world.user(Role.ADMIN))
    sent = [api.post(f"/api/v1/webhooks/{endpoint.pk}/test/").json()["id"] for _ in range(3)]

    wait_for(lambda: WebhookDelivery.objects.filter(pk__in=sent, state=DeliveryState.FAILED).count() == 3, timeout=30)
    assert set(WebhookDelivery.objects.filter(pk__in=sent).values_list("attempts", flat=True)) == {4}
    assert all(r.verified for r in receiver.received) and len(receiver.received) == 12
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.consecutive_failures == 3
    assert "3 failed deliveries in a row" in endpoint.disabled_reason and "HTTP 503" in endpoint.disabled_reason
    assert AuditEvent.objects.filter(action="webhook.disable", object_id=str(endpoint.pk), actor=None).exists()
    assert api.post(f"/api/v1/webhooks/{endpoint.pk}/test/").json()["code"] == "endpoint_disabled"

    enabled = api.post(f"/api/v1/webhooks/{endpoint.pk}/enable/")
    assert enabled.status_code == 200 and enabled.json()["is_active"] and enabled.json()["consecutive_failures"] == 0
