"""The Open Service Broker client against a real broker process (openbrokerapi): catalog check,
synchronous and asynchronous provisioning, bindings with their own credentials, unbind, deprovision."""

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.marketplace.models import BindingState, InstanceState, ServiceBinding, ServiceInstance
from tests.conftest import free_port
from tests.deployments.conftest import make_app

from .conftest import bind, provision, publish
from .test_postgres import secret_data

BINDINGS = reverse("servicebinding-list")

pytestmark = pytest.mark.django_db
BROKER = Path(__file__).with_name("broker.py")


@pytest.fixture(scope="module")
def broker_url():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(BROKER), str(port), "portal", "s3cret"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{base}/v2/catalog", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, "the broker did not start"
            time.sleep(0.1)
    yield f"http://portal:s3cret@127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def queue(world, broker_url):
    return publish(
        world,
        server="broker",
        kind="osb",
        admin_url=broker_url,
        slug="queue",
        name="Queue",
        broker_id="svc-queue",
        plans=[
            {"slug": "basic", "name": "Basic", "broker_id": "plan-basic"},
            {"slug": "slow", "name": "Slow", "broker_id": "plan-slow"},
        ],
    )


@pytest.mark.process
def test_a_broker_with_wrong_credentials_is_refused(world, broker_url):
    with pytest.raises(ApplicationError, match="401"):
        services.server_register(
            operator=world.operator_principal, name="b", kind="osb", admin_url=broker_url.replace("s3cret", "nope")
        )


def test_provision_bind_unbind_deprovision_through_the_broker(world, cluster, queue):
    instance = provision(world, queue)
    assert instance.state == InstanceState.READY
    first, one = bind(world, instance, "web")
    second, two = bind(world, instance, "worker")
    assert set(one) == {"QUEUE_URI"} and one["QUEUE_URI"].startswith("amqp://") and one != two
    services.binding_delete(actor=world.principal("developer"), binding=first)
    services.binding_delete(actor=world.principal("developer"), binding=second)
    services.instance_deprovision(actor=world.principal("developer"), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    assert not type(instance).objects.filter(pk=instance.pk).exists()


def test_an_asynchronous_broker_is_polled_until_it_is_done(world, cluster, queue):
    instance = provision(world, queue, plan=queue.plans.get(slug="slow"))
    assert instance.state == InstanceState.PROVISIONING
    assert "Creating the queue" in instance.last_operation
    time.sleep(1.2)
    services.instance_poll_run(instance_id=instance.pk)
    instance.refresh_from_db()
    assert instance.state == InstanceState.READY


def broker_get(broker_url, path):
    """Ask the broker itself (as the platform would), to see what it still holds."""
    base = broker_url.replace("portal:s3cret@", "")
    return requests.get(f"{base}{path}", auth=("portal", "s3cret"), headers={"X-Broker-API-Version": "2.17"}, timeout=5)


def ready_slow_instance(world, queue):
    instance = provision(world, queue, plan=queue.plans.get(slug="slow"))
    assert instance.operation.startswith("create-")  # the broker's token, sent back on every poll
    wait_for_broker()
    services.instance_poll_run(instance_id=instance.pk)
    instance.refresh_from_db()
    assert instance.state == InstanceState.READY
    return instance


def wait_for_broker():
    time.sleep(1.2)  # the broker's asynchronous operations take a second (tests/marketplace/broker.py)


def test_an_asynchronous_bind_unbind_and_deprovision_are_polled_until_done(world, api, cluster, queue, broker_url):
    instance = ready_slow_instance(world, queue)
    make_app(world.acme, "web")
    api.as_user(world.user("owner"))
    accepted = api.post(BINDINGS, {"instance": instance.pk, "application": "web"}, format="json")
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["state"] == "binding" and "credentials" not in accepted.json()
    binding = ServiceBinding.objects.get(pk=accepted.json()["id"])
    assert binding.operation.startswith("bind-")
    assert secret_data(instance.environment, "web-addons") is None

    services.binding_poll_run(binding_id=binding.pk)  # the poll task, too early
    binding.refresh_from_db()
    assert binding.state == BindingState.BINDING and "Creating credentials" in binding.last_operation
    wait_for_broker()
    services.binding_poll_run(binding_id=binding.pk)
    binding.refresh_from_db()
    assert binding.state == BindingState.READY
    uri = secret_data(instance.environment, "web-addons")["QUEUE_URI"]
    assert uri.startswith(f"amqp://{binding.username}:")  # fetched from the broker once it was made
    path = f"/v2/service_instances/{instance.uid}/service_bindings/{binding.username}"
    assert broker_get(broker_url, path).status_code == 200

    # A broker that makes credentials asynchronously cannot swap them within a request: rotation is
    # refused, and the credential it had begun is revoked by the sweeper.
    refused = api.post(reverse("servicebinding-rotate", args=[binding.pk]))
    assert refused.status_code == 409 and "asynchronously" in refused.json()["detail"]
    pending = ServiceBinding.objects.get(pk=binding.pk).pending_username
    assert services.bindings_sweep(now=timezone.now() + timedelta(minutes=5)) == 1
    assert ServiceBinding.objects.get(pk=binding.pk).pending_username == ""
    pending_path = f"/v2/service_instances/{instance.uid}/service_bindings/{pending}"
    wait_for_broker()
    assert broker_get(broker_url, pending_path).status_code == 404

    unbinding = api.delete(reverse("servicebinding-detail", args=[binding.pk]))
    assert unbinding.status_code == 202 and unbinding.json()["state"] == "unbinding"
    assert secret_data(instance.environment, "web-addons") is None  # the variables go at once
    with pytest.raises(ApplicationError) as busy:  # still bound until the broker is done
        services.instance_deprovision(actor=world.principal("developer"), instance=instance)
    assert busy.value.code == services.INSTANCE_BOUND
    services.binding_poll_run(binding_id=binding.pk)
    assert ServiceBinding.objects.get(pk=binding.pk).state == BindingState.UNBINDING
    wait_for_broker()
    services.binding_poll_run(binding_id=binding.pk)
    assert not ServiceBinding.objects.filter(pk=binding.pk).exists()
    assert broker_get(broker_url, path).status_code == 404

    services.instance_deprovision(actor=world.principal("developer"), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    instance.refresh_from_db()
    assert instance.state == InstanceState.DEPROVISIONING and "removing" in instance.last_operation
    services.instance_poll_run(instance_id=instance.pk)  # the poll task, too early
    instance.refresh_from_db()
    assert instance.state == InstanceState.DEPROVISIONING and "Deleting the queue" in instance.last_operation
    wait_for_broker()
    services.instance_poll_run(instance_id=instance.pk)
    assert not ServiceInstance.objects.filter(pk=instance.pk).exists()
    assert broker_get(broker_url, f"/v2/service_instances/{instance.uid}/last_operation").status_code == 410


def test_an_asynchronous_bind_that_fails_is_revoked_and_forgotten(world, cluster, queue, broker_url):
    instance = ready_slow_instance(world, queue)
    binding, variables = bind(world, instance, "broken")
    assert variables == {} and binding.state == BindingState.BINDING
    wait_for_broker()
    services.binding_poll_run(binding_id=binding.pk)
    assert not ServiceBinding.objects.filter(pk=binding.pk).exists()
    path = f"/v2/service_instances/{instance.uid}/service_bindings/{binding.username}"
    assert broker_get(broker_url, path).status_code == 404  # the broker was told to drop it too
    assert AuditEvent.objects.filter(action="addon.bind_failed", object_id=str(binding.pk)).exists()
