"""Delivery attempts made in this process (the task's function called directly), where the outbox and
the clock are at hand: backoff, auto-disable with its notice, DNS that changes, pruning and sweeping."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.tenants.roles import Role
from apps.webhooks import delivery as sending
from apps.webhooks import targets
from apps.webhooks.models import DeliveryState, WebhookDelivery
from apps.webhooks.services import event_dispatch

from .conftest import private_endpoint

pytestmark = pytest.mark.django_db


def dispatch(tenant, event="deployment.succeeded"):
    """Deliveries for an event; their queued tasks are dropped (this test sends them itself)."""
    return event_dispatch(tenant_id=tenant.pk, event=event, data={"deployment": 7})


@override_settings(WEBHOOK_RETRY_SCHEDULE=[5, 60])
def test_a_failed_attempt_waits_with_backoff_then_fails_for_good(world, receiver):
    endpoint = private_endpoint(world.acme, receiver.url)
    receiver.secret, receiver.statuses = endpoint.secret, [500, 502, 504]
    [row] = dispatch(world.acme)

    before = timezone.now()
    assert sending.delivery_attempt(row.pk) == DeliveryState.RETRYING
    row.refresh_from_db()
    assert row.attempts == 1 and row.response_code == 500 and row.error == "HTTP 500"
    assert timedelta(seconds=3.9) <= row.next_attempt_at - before <= timedelta(seconds=6.1)  # 5 s ± 20 %
    assert sending.delivery_attempt(row.pk) is None  # not due yet: a duplicate nudge does nothing
    assert len(receiver.received) == 1

    for expected in (DeliveryState.RETRYING, DeliveryState.FAILED):
        WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        assert sending.delivery_attempt(row.pk) == expected
    row.refresh_from_db()
    assert row.attempts == 3 and row.response_code == 504 and row.next_attempt_at is None
    assert all(got.verified for got in receiver.received) and len(receiver.received) == 3
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1 and endpoint.is_active


@override_settings(WEBHOOK_RETRY_SCHEDULE=[], WEBHOOK_DISABLE_AFTER=2)
def test_repeated_failures_disable_the_endpoint_and_tell_owners_and_admins(
    world, receiver, django_capture_on_commit_callbacks
):
    endpoint = private_endpoint(world.acme, receiver.url)
    receiver.secret, receiver.statuses = endpoint.secret, [500, 500]
    first, second = dispatch(world.acme)[0], dispatch(world.acme)[0]

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.delivery_attempt(first.pk) == DeliveryState.FAILED
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 1 and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.delivery_attempt(second.pk) == DeliveryState.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert endpoint.disabled_reason.startswith("Disabled after 2 failed deliveries in a row")
    audit = AuditEvent.objects.get(action="webhook.disable")
    assert audit.tenant_id == world.acme.pk and audit.actor_id is None and audit.object_id == str(endpoint.pk)
    [notice] = mail.outbox
    assert sorted(notice.to) == sorted([world.user(Role.OWNER).email, world.user(Role.ADMIN).email])
    assert "disabled" in notice.subject and receiver.url in notice.body and endpoint.secret not in notice.body

    # A disabled endpoint gets nothing new, and what was waiting for it is closed without sending.
    assert dispatch(world.acme) == []
    waiting = WebhookDelivery.objects.create(
        tenant=world.acme, endpoint=endpoint, event="x", payload={"id": "x"}, next_attempt_at=timezone.now()
    )
    assert sending.delivery_attempt(waiting.pk) is None
    waiting.refresh_from_db()
    assert waiting.state == DeliveryState.FAILED and "disabled" in waiting.error and len(receiver.received) == 2


def test_a_success_resets_the_failure_count(world, receiver):
    endpoint = private_endpoint(world.acme, receiver.url)
    endpoint.consecutive_failures = 4
    endpoint.save()
    receiver.secret = endpoint.secret
    assert sending.delivery_attempt(dispatch(world.acme)[0].pk) == DeliveryState.SUCCEEDED
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_name_that_now_resolves_to_loopback_is_refused_at_delivery(world, api, receiver, monkeypatch):
    """The endpoint was saved while its name resolved to a public address; by delivery time it resolves
    to 127.0.0.1 (the receiver): nothing is sent."""
    url = f"http://localhost:{receiver.port}/hook"
    with monkeypatch.context() as dns:
        dns.setattr(targets, "resolve", lambda host, port: ["93.184.215.14"])
        api.as_user(world.user(Role.ADMIN))
        response = api.post(
            "/api/v1/webhooks/", {"tenant": "acme", "url": url, "events": ["deployment.*"]}, format="json"
        )
        assert response.status_code == 201, response.content
    [row] = dispatch(world.acme)
    assert sending.delivery_attempt(row.pk) == DeliveryState.FAILED
    row.refresh_from_db()
    assert row.error.startswith("Refused:") and "127.0.0.1" in row.error and row.attempts == 1
    assert receiver.received == []


def test_the_connection_itself_is_checked_against_dns_rebinding(world, receiver, monkeypatch):
    """The pre-flight lookup says public, the connection lands on loopback: refused at connect."""
    endpoint = private_endpoint(world.acme, f"http://localhost:{receiver.port}/hook")
    endpoint.allow_private = False
    endpoint.save()
    monkeypatch.setattr(targets, "resolve", lambda host, port: ["93.184.215.14"])
    [row] = dispatch(world.acme)
    assert sending.delivery_attempt(row.pk) == DeliveryState.FAILED
    row.refresh_from_db()
    assert row.error == "Refused: the host resolved to a non-public address."
    assert receiver.received == []


def test_redirects_are_not_followed_and_unreachable_hosts_are_recorded(world, receiver):
    from tests.conftest import free_port

    endpoint = private_endpoint(world.acme, receiver.url)
    receiver.secret, receiver.statuses = endpoint.secret, [302]
    [row] = dispatch(world.acme)
    sending.delivery_attempt(row.pk)
    row.refresh_from_db()
    assert row.response_code == 302 and row.state == DeliveryState.RETRYING and len(receiver.received) == 1

    endpoint.url = endpoint.allow_private_url = f"http://127.0.0.1:{free_port()}/nobody-listens"  # approved too
    endpoint.save()
    [row] = dispatch(world.acme)
    sending.delivery_attempt(row.pk)
    row.refresh_from_db()
    assert row.response_code is None and row.error == "Could not connect." and row.state == DeliveryState.RETRYING


@override_settings(WEBHOOK_RETENTION_DAYS=30, WEBHOOK_SWEEP_GRACE_SECONDS=15)
def test_housekeeping_prunes_old_deliveries_and_nudges_overdue_ones(world, receiver):
    endpoint = private_endpoint(world.acme, receiver.url)
    old, recent, overdue, due_soon = (dispatch(world.acme)[0] for _ in range(4))
    WebhookDelivery.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=31), state=DeliveryState.SUCCEEDED, next_attempt_at=None
    )
    WebhookDelivery.objects.filter(pk=recent.pk).update(state=DeliveryState.SUCCEEDED, next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=overdue.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    WebhookDelivery.objects.filter(pk=due_soon.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=2))

    assert sending.deliveries_sweep() == [overdue.pk]  # queued for the worker; the due-soon one waits
    assert sending.deliveries_prune() == 1
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True)) == {
        recent.pk,
        overdue.pk,
        due_soon.pk,
    }
