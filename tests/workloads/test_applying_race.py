"""A rollout whose pods are all ready before its deployment starts rolling out still finishes at once:
the watch events came while the row was applying, and none comes after, so the watcher's fast path
acts on the workload again until the row rolls out (real worker, real sandbox cluster, the watcher)."""

import threading

import pytest

from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.workloads.watcher import Watcher
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_settings():
    """The worker's scheduled looks at a rollout come every ten minutes: only the watcher moves it on."""
    return {"DEPLOYMENT_OBSERVE_SECONDS": "600"}


@pytest.fixture
def watched(world, sandbox, celery_worker):
    registered(world, sandbox)  # provisioned before the faults below, and watched from the start
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    thread.start()
    yield sandbox
    stop.set()
    thread.join(timeout=15)


def test_pods_ready_before_the_rollout_starts_still_finish_it_without_a_scheduled_look(world, api, watched):
    # Every apply takes two seconds: the Service is applied after the Deployment, so its pods (ready
    # 0.2 s after they start) are ready, and their events gone by, before the row leaves "applying".
    watched.inject_faults(latency_ms=2000, methods=["PATCH"])
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0", replicas=2)
    pk = deploy(api, world.user("developer"), release).json()["id"]
    wait_for(lambda: Deployment.objects.filter(pk=pk, state=State.PROGRESSING).exists(), timeout=60, interval=0.05)
    row = finished(pk, timeout=30)
    assert row is not None and row.state == State.SUCCEEDED, row and row.outcome
    assert row.events.filter(message__startswith="Rollout complete").exists()
