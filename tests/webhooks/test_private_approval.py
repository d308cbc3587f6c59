"""An operator's private-target exception covers exactly the URL it approved, and nothing a private
target answers is kept (issue 12, item 5: a tenant re-pointed an approved endpoint at the sandbox
cluster's secrets and read them back from the delivery log)."""

import pytest
from django.test import override_settings

from apps.tenants.roles import Role
from apps.webhooks import delivery as sending
from apps.webhooks import transport
from apps.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from apps.webhooks.services import endpoint_send_test
from apps.webhooks.targets import TARGET_REFUSED
from tests.base.cases_webhooks import PUBLIC_URL, endpoint

from .conftest import private_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster():
    from sandbox import SandboxCluster

    with SandboxCluster() as running:
        yield running


def secrets_url(cluster, world) -> str:
    namespace = world.globex.environments.get(name="prod").namespace
    return f"{cluster.url}/api/v1/namespaces/{namespace}/secrets"


def approve(api, world, row, url) -> None:
    api.as_user(world.operator)
    response = api.patch(f"/api/v1/operator/webhooks/{row.pk}/", {"allow_private": True, "url": url}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["allow_private"] is True and response.json()["url"] == url


def test_a_tenant_cannot_carry_the_exception_to_another_url(world, api, receiver, cluster):
    row = endpoint(world.acme)
    approve(api, world, row, receiver.url)

    api.as_user(world.user(Role.ADMIN))
    response = api.patch(f"/api/v1/webhooks/{row.pk}/", {"url": secrets_url(cluster, world)}, format="json")
    assert response.status_code == 400 and response.json()["code"] == TARGET_REFUSED
    row.refresh_from_db()
    assert row.url == receiver.url and row.private_approved

    # Away to a public URL and back again: the exception ended with the first change.
    assert api.patch(f"/api/v1/webhooks/{row.pk}/", {"url": PUBLIC_URL}, format="json").json()["allow_private"] is False
    response = api.patch(f"/api/v1/webhooks/{row.pk}/", {"url": receiver.url}, format="json")
    assert response.status_code == 400 and response.json()["code"] == TARGET_REFUSED


def test_an_exception_granted_for_another_url_does_not_reach_the_cluster(world, api, cluster):
    """However the URL came to differ from the approved one, the test delivery is refused before sending."""
    row = endpoint(world.acme, allow_private=True, allow_private_url="http://10.0.0.5/hook")
    WebhookEndpoint.objects.filter(pk=row.pk).update(url=secrets_url(cluster, world))
    row.refresh_from_db()

    delivery = endpoint_send_test(actor=world.principal(Role.ADMIN), endpoint=row)
    assert sending.delivery_attempt(delivery.pk) == DeliveryState.FAILED
    delivery.refresh_from_db()
    assert delivery.error.startswith("Refused:") and delivery.response_code is None
    assert delivery.response_body == ""


def test_the_operator_approves_one_url_and_the_approval_says_which(world, api, receiver):
    row = endpoint(world.acme)
    approve(api, world, row, receiver.url)
    row.refresh_from_db()
    assert row.allow_private_url == row.url == receiver.url
    api.as_user(world.operator)
    api.patch(f"/api/v1/operator/webhooks/{row.pk}/", {"allow_private": False}, format="json")
    row.refresh_from_db()
    assert (row.allow_private, row.allow_private_url, row.url) == (False, "", receiver.url)


def test_a_private_targets_answer_is_not_stored(world, receiver):
    row = private_endpoint(world.acme, receiver.url)
    delivery = endpoint_send_test(actor=world.principal(Role.ADMIN), endpoint=row)
    assert sending.delivery_attempt(delivery.pk) == DeliveryState.SUCCEEDED
    delivery.refresh_from_db()
    assert delivery.response_code == 200 and delivery.response_body == ""
    assert len(receiver.received) == 1


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
def test_with_the_platform_setting_a_private_answer_is_not_stored_either(world, receiver):
    row = endpoint(world.acme, url=receiver.url)
    delivery = endpoint_send_test(actor=world.principal(Role.ADMIN), endpoint=row)
    assert sending.delivery_attempt(delivery.pk) == DeliveryState.SUCCEEDED
    delivery.refresh_from_db()
    assert delivery.response_code == 200 and delivery.response_body == ""


def test_a_public_receivers_answer_is_kept_only_as_a_short_excerpt(world):
    row = endpoint(world.acme)
    delivery = endpoint_send_test(actor=world.principal(Role.ADMIN), endpoint=row)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1)
    outcome = transport.Outcome(200, "x" * 5000, 12, peer_public=True)
    assert sending._record(delivery.pk, outcome) == DeliveryState.SUCCEEDED
    delivery.refresh_from_db()
    assert delivery.response_body == "x" * transport.EXCERPT_BYTES
