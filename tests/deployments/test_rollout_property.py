"""A property of every rolling update (issue 14, Tests): when a deployment turns `succeeded`, no pod of an
older release runs any more. Random rollouts drive it: random replica counts (so maxSurge 25 % means 1
or 2 surge pods, and releases scale up or down as they roll), some slow images, and pods that each take
a random time to become ready (the sandbox's ready_spread), three applications rolling at once.

The check is made twice: the cluster is listed the moment the row is seen succeeded (rows polled every
20 ms), and every old pod's termination, which the sandbox records to the microsecond, must come before
the succeeded event was written. The seed is printed; ROLLOUT_SEED=<n> replays a run.
"""

import os
import random
import time

import pytest
from kubernetes import client

from apps.deployments.choices import TERMINAL, State
from apps.deployments.manifests import SURGE_PERCENT
from apps.deployments.models import Deployment

from .conftest import make_app, make_release, registered
from .test_pipeline import assert_gap_free, deploy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]

SEED = int(os.environ.get("ROLLOUT_SEED", "1414"))
ROUNDS = 4
APPS = ("alpha", "beta", "gamma")
LABEL = "paas.dev/application"


@pytest.fixture
def uneven_sandbox():
    """Pods ready 0.2 to 1.7 s after creation, each at its own time; `slow` images take twice that."""
    from sandbox import SandboxCluster

    with SandboxCluster(ready_after=0.2, ready_spread=1.5, slow_factor=2.0) as cluster:
        yield cluster


def _observe(pending: dict, core) -> dict:
    """Poll the rows; the moment one is terminal, list its application's pods. {pk: (row, releases seen)}."""
    seen, deadline = {}, time.monotonic() + 120
    while pending:
        assert time.monotonic() < deadline, f"rollouts did not finish: {sorted(pending)}"
        for row in Deployment.objects.filter(pk__in=pending, state__in=TERMINAL).select_related("release"):
            name = pending.pop(row.pk)
            pods = core.list_namespaced_pod("acme--dev", label_selector=f"{LABEL}={name}").items
            seen[row.pk] = (row, {pod.metadata.labels["paas.dev/release"] for pod in pods})
        time.sleep(0.02)
    return seen


def test_a_succeeded_rollout_never_leaves_an_old_pod_running(world, api, uneven_sandbox, celery_worker):
    print(f"\nrollout property: seed {SEED} (ROLLOUT_SEED={SEED} replays it)")
    rng = random.Random(SEED)
    registered(world, uneven_sandbox)
    core = client.CoreV1Api(uneven_sandbox.api_client())
    developer, replicas_of = world.user("developer"), dict.fromkeys(APPS, 0)
    for number in range(1, ROUNDS + 1):
        pending, plans = {}, {}
        for name in APPS:
            replicas, slow = rng.randint(1, 6), rng.random() < 0.3
            image = f"registry.example/{name}:{number}.0" + ("-slow" if slow else "")
            release = make_release(make_app(world.acme, name), image=image, replicas=replicas)
            response = deploy(api, developer, release, progress_deadline_seconds=120)
            assert response.status_code == 201, response.content
            pending[response.json()["id"]] = name
            surge = -(-replicas * SURGE_PERCENT // 100)
            plans[name] = f"{replicas_of[name]} -> {replicas} pods, maxSurge {surge}, {'slow' if slow else 'uneven'}"
            replicas_of[name] = replicas
        for pk, (row, releases) in _observe(pending, core).items():
            assert row.state == State.SUCCEEDED, (pk, row.outcome)
            assert_gap_free(row)
            name, release = row.release.application.name, str(row.release.number)
            assert releases == {release}, f"{name} #{release} succeeded while releases {releases} ran"
            succeeded_at = row.events.get(state=State.SUCCEEDED).created_at.timestamp()
            old = [
                gone["at"]
                for gone in uneven_sandbox.pod_terminations()
                if gone["labels"].get(LABEL) == name and gone["labels"].get("paas.dev/release") != release
            ]
            late = [at - succeeded_at for at in old if at >= succeeded_at]
            assert not late, f"{name} #{release}: old pods went {late} s after the deployment succeeded"
            margin = f"last old pod gone {succeeded_at - max(old):.2f} s before" if old else "no old pods"
            print(f"round {number} {name}: {plans[name]}; deployment {pk} succeeded, {margin}")
