"""A rollout whose pods are all ready before its deployment starts rolling out still finishes at once:
the watch events came while the row was applying, and none comes after, so the watcher's fast path
acts on the workload again until the row rolls out. A rollout that finished in the cluster before the
watcher began watching (a standby that took over, a relist) is looked at from what the watches list
(real worker, real sandbox cluster, the watcher)."""

import threading

import pytest

from apps.clusters.services import kube_of
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
def watching():
    """Start the lifecycle watcher; stopped at the test's end."""
    stop, threads = threading.Event(), []

    def start():
        threads.append(threading.Thread(target=Watcher(stop=stop).run, daemon=True))
        threads[-1].start()

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=15)


@pytest.fixture
def watched(world, sandbox, celery_worker, watching):
    registered(world, sandbox)  # provisioned before the faults below, and watched from the start
    watching()
    return sandbox


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


def test_a_rollout_finished_before_the_watches_began_is_looked_at_from_what_they_list(
    world, api, sandbox, celery_worker, watching
):
    registered(world, sandbox)
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0", replicas=2)
    pk = deploy(api, world.user("developer"), release).json()["id"]
    row = wait_for(lambda: Deployment.objects.filter(pk=pk, state=State.PROGRESSING).first(), timeout=60)
    with kube_of(row.environment) as kube:
        wait_for(lambda: getattr(kube.rollout_status(row.environment.namespace, "shop"), "complete", False), timeout=30)
    # Done in the cluster, and no event will come again; the next scheduled look is ten minutes away.
    assert Deployment.objects.get(pk=pk).state == State.PROGRESSING
    watching()
    row = finished(pk, timeout=30)
    assert row is not None and row.state == State.SUCCEEDED, row and row.outcome
    assert row.events.filter(message="Rollout complete: 2 of 2 replicas ready").exists()
