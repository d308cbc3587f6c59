"""Benchmark: one tenant's burst of deployments against another tenant's single deployment.

    make bench BENCH=tests/bench/bench_fairness.py

Two real worker processes drain the default queue against the sandbox cluster. Tenant globex ("B")
deploys one application while nothing else runs (idle), then again right after tenant acme ("A") has
queued 200 deployments at once. B's time is measured from its own events, queued to succeeded. The
budget: B's deployment under A's burst takes at most twice its idle time. Results are also written to
tests/bench/results/fairness.json.
"""

import json
import statistics
import time
from pathlib import Path

import pytest

from apps.deployments.choices import TERMINAL, State
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from sandbox import SandboxCluster
from tests.conftest import start_worker, wait_for
from tests.deployments.conftest import make_app, make_release, registered

pytestmark = pytest.mark.django_db(transaction=True)
RESULTS = Path(__file__).parent / "results"
BURST = 200
IDLE_RUNS = 3


def write(section, numbers):
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "fairness.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[section] = numbers
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{section}: {json.dumps(numbers)}")


def _deploy(world, tenant, app_name, environment="dev"):
    release = make_release(make_app(tenant, app_name), replicas=1)
    deployment, _ = deployment_create(
        actor=world.principal("owner", tenant=tenant.slug),
        release=release,
        environment=tenant.environments.get(name=environment),
    )
    return deployment.pk


def _seconds_to_succeed(pk, timeout=600):
    """Queued to succeeded, from the deployment's own events."""
    wait_for(lambda: Deployment.objects.get(pk=pk).state in TERMINAL, timeout=timeout, interval=0.1)
    row = Deployment.objects.get(pk=pk)
    assert row.state == State.SUCCEEDED, row.outcome
    at = {e.state: e.created_at for e in row.events.all() if e.state}
    return (at[State.SUCCEEDED] - at[State.QUEUED]).total_seconds()


def _burst(world, count):
    environments = list(world.acme.environments.order_by("name"))
    actor = world.principal("owner")
    ids = []
    for n in range(count):
        release = make_release(make_app(world.acme, f"burst-{n // len(environments)}"), replicas=1)
        deployment, _ = deployment_create(actor=actor, release=release, environment=environments[n % len(environments)])
        ids.append(deployment.pk)
    return ids


def test_single_deployment_beside_a_burst(world, tmp_path):
    with SandboxCluster(ready_after=0.2) as sandbox:
        running = [start_worker(tmp_path / f"worker-{n}.log", LOG_LEVEL="INFO") for n in range(2)]
        try:
            registered(world, sandbox)
            idle = [_seconds_to_succeed(_deploy(world, world.globex, f"idle-{n}")) for n in range(IDLE_RUNS)]
            started = time.monotonic()
            burst = _burst(world, BURST)
            queueing = time.monotonic() - started
            loaded = _seconds_to_succeed(_deploy(world, world.globex, "under-burst"))
            wait_for(
                lambda: not Deployment.objects.filter(pk__in=burst).exclude(state__in=TERMINAL).exists(),
                timeout=900,
                interval=0.5,
            )
            drained = time.monotonic() - started
        finally:
            for process in running:
                process.terminate()
                process.wait(timeout=30)
    idle_s = statistics.median(idle)
    write(
        "single_deployment_beside_a_burst",
        {
            "workers": 2,
            "burst": BURST,
            "sandbox_ready_after_s": 0.2,
            "b_idle_s": [round(s, 2) for s in idle],
            "b_idle_median_s": round(idle_s, 2),
            "b_under_burst_s": round(loaded, 2),
            "ratio": round(loaded / idle_s, 2),
            "budget_ratio": 2.0,
            "a_queueing_s": round(queueing, 2),
            "a_drained_s": round(drained, 2),
            "a_succeeded": Deployment.objects.filter(pk__in=burst, state=State.SUCCEEDED).count(),
        },
    )
