"""The Open Service Broker client against a real broker process (openbrokerapi): catalog check,
synchronous and asynchronous provisioning, bindings with their own credentials, unbind, deprovision."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.marketplace.models import InstanceState
from tests.conftest import free_port

from .conftest import bind, provision

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
    server = services.server_register(operator=world.operator, name="broker", kind="osb", admin_url=broker_url)
    offering = services.offering_publish(
        operator=world.operator, slug="queue", name="Queue", server=server, broker_id="svc-queue"
    )
    services.plan_publish(
        operator=world.operator, offering=offering, slug="basic", name="Basic", broker_id="plan-basic"
    )
    services.plan_publish(
        operator=world.operator, offering=offering, slug="slow", name="Slow", broker_id="plan-slow", position=1
    )
    return offering


def test_a_broker_with_wrong_credentials_is_refused(world, broker_url):
    with pytest.raises(ApplicationError, match="401"):
        services.server_register(
            operator=world.operator, name="b", kind="osb", admin_url=broker_url.replace("s3cret", "nope")
        )


def test_provision_bind_unbind_deprovision_through_the_broker(world, cluster, queue):
    instance = provision(world, queue)
    assert instance.state == InstanceState.READY
    first, one = bind(world, instance, "web")
    second, two = bind(world, instance, "worker")
    assert set(one) == {"QUEUE_URI"} and one["QUEUE_URI"].startswith("amqp://") and one != two
    services.binding_delete(actor=world.user("developer"), binding=first)
    services.binding_delete(actor=world.user("developer"), binding=second)
    services.instance_deprovision(actor=world.user("developer"), instance=instance)
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
