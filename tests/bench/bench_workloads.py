"""Benchmarks of the lifecycle watcher. They print numbers and never fail on time.

    make bench BENCH=tests/bench/bench_workloads.py
    BENCH_WORKLOADS=200 BENCH_IDLE_SECONDS=60 make bench BENCH=tests/bench/bench_workloads.py

With BENCH_WORKLOADS Deployments (labelled as the portal labels them) spread over the six namespaces of
acme's and globex's environments of one sandbox cluster and `manage.py lifecycle`'s Watcher running:

- Change to row: a Deployment is scaled behind the portal's back; the time until the workload row
  (what the API and the page show) holds the new replica count (budget: < 10 s p95).
- Idle requests: requests the sandbox served per minute, by verb, while nothing changes (target:
  only the watches and their bookmarks, no polling).
- Watcher memory: Python memory allocated (tracemalloc) from before the watcher started until it
  stored every workload, per workload; it includes the rows' querysets and clients, not the process.
Results are also written to tests/bench/results/workloads.json.
"""

import json
import os
import statistics
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.services import cluster_register, environment_provision
from apps.deployments.manifests import LABEL, MANAGED_BY
from apps.tenants.models import Environment
from apps.workloads.models import Workload
from apps.workloads.watcher import Watcher
from tests.conftest import wait_for
from tests.deployments.conftest import make_app

pytestmark = pytest.mark.django_db(transaction=True)
RESULTS = Path(__file__).parent / "results"
WORKLOADS = int(os.environ.get("BENCH_WORKLOADS", "60"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "20"))
# After every row is healthy the watcher may still be reading the marks its first pass left behind.
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "10"))


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write(section, numbers):
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "workloads.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[section] = numbers
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{section}: {json.dumps(numbers)}")


def manifest(tenant: str, environment: str, name: str) -> dict:
    labels = {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        f"{LABEL}/tenant": tenant,
        f"{LABEL}/environment": environment,
        f"{LABEL}/application": name,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": f"{tenant}--{environment}", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {f"{LABEL}/application": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": "registry.example/bench:1.0"}]},
            },
        },
    }


@pytest.fixture
def sandbox_options():
    return {"ready_after": 0.2}


def test_watcher_latency_idle_requests_and_memory(world, sandbox):
    # The sandbox as the default cluster and every environment provisioned on it, here rather than by a
    # worker: nothing else in this benchmark needs one.
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    for environment in Environment.objects.all():
        environment_provision(environment=environment)
    kube = KubeClient(sandbox.api_client())
    places = [(tenant, env) for tenant in ("acme", "globex") for env in ("dev", "staging", "prod")]
    names = []
    for i in range(WORKLOADS):
        tenant, environment = places[i % len(places)]
        name = f"w{i:03d}"
        make_app(getattr(world, tenant), name=name)
        kube.apply([manifest(tenant, environment, name)])
        names.append((tenant, environment, name))

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        wait_for(lambda: Workload.objects.filter(health="healthy").count() == WORKLOADS, timeout=60 + WORKLOADS)
        all_read = time.monotonic() - started
        grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
        tracemalloc.stop()
        write(
            "watcher_memory",
            {
                "workloads": WORKLOADS,
                "first_read_of_all_s": round(all_read, 1),
                "allocated_kib": round(grown / 1024),
                "per_workload_kib": round(grown / 1024 / WORKLOADS, 1),
            },
        )

        time.sleep(SETTLE_SECONDS)  # let the last reads settle
        first = dict(sandbox.state()["requests"])
        time.sleep(IDLE_SECONDS)
        last = dict(sandbox.state()["requests"])
        per_minute = {verb: round((last.get(verb, 0) - first.get(verb, 0)) * 60 / IDLE_SECONDS, 1) for verb in last}
        write(
            "idle_requests_per_minute",
            {"workloads": WORKLOADS, "open_watches": sandbox.state()["watches"], **per_minute},
        )

        latencies = []
        for i in range(CHANGES):
            tenant, environment, name = names[(i * 7) % len(names)]
            row = Workload.objects.get(application__name=name, application__tenant__slug=tenant)
            wanted = (row.replicas or 1) + 1
            changed = time.monotonic()
            kube.patch("apps/v1", "Deployment", name, f"{tenant}--{environment}", {"spec": {"replicas": wanted}})
            wait_for(lambda pk=row.pk, n=wanted: Workload.objects.get(pk=pk).replicas == n, timeout=30, interval=0.01)
            latencies.append((time.monotonic() - changed) * 1000)
        write(
            "change_to_row",
            {
                "workloads": WORKLOADS,
                "n": len(latencies),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(percentile(latencies, 95), 1),
                "max_ms": round(max(latencies), 1),
            },
        )
    finally:
        stop.set()
        thread.join(timeout=15)
