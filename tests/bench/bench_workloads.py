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

With one deployment rolling out (its pods never become ready, so it stays in progress), a real worker
(scheduled looks every BENCH_OBSERVE_SECONDS, the production default unless set), the Watcher, the
ASGI server and Chromium with the deployment's page and the workload's page open:

- Pod change to page: a pod's restart count is raised in the sandbox; the time until the deployment
  page appends the event row saying so, and until the workload page's pod row shows the count
  (budget: < 250 ms p99 for both). Timed by the page (Date.now() in a MutationObserver) against the
  wall clock of the change.

- Workload list API: BENCH_LIST_WORKLOADS rows (500), each with its live release, pods and six hours of
  replica history; the queries for a page of 1 and of 100 (the same), and requests per second for a
  page of 100 and for the default page (REST_FRAMEWORK's PAGE_SIZE, 50) beside /healthz, in-process
  through the test client, in interleaved rounds so a load that comes and goes weighs on each alike.
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
from django.utils import timezone
from kubernetes import client

from apps.clusters.kube import KubeClient
from apps.clusters.services import cluster_register, environment_provision
from apps.deployments.choices import State
from apps.deployments.manifests import LABEL, MANAGED_BY
from apps.deployments.models import Deployment, DeploymentEvent
from apps.deployments.services import deployment_create
from apps.tenants.models import Environment
from apps.workloads.models import Workload
from apps.workloads.observe import pod_row
from apps.workloads.watcher import Watcher
from tests.conftest import start_worker, wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
RESULTS = Path(__file__).parent / "results"
WORKLOADS = int(os.environ.get("BENCH_WORKLOADS", "60"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "20"))
# After every row is healthy the watcher may still be reading the marks its first pass left behind.
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "10"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
OBSERVE_SECONDS = os.environ.get("BENCH_OBSERVE_SECONDS", "")
POD_CHANGES = int(os.environ.get("BENCH_POD_CHANGES", "40"))


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values_ms):
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 1),
        "p99_ms": round(percentile(values_ms, 99), 1),
        "max_ms": round(max(values_ms), 1),
    }


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


# Run in each page through Playwright (not a page script): note when each event row appears on the
# deployment page, and when each restart count first shows in the workload page's pod rows.
RECORD_EVENTS = """() => {
  window.seen = {};
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((node) => {
    if (node.dataset && node.dataset.seq) window.seen[node.textContent] = Date.now();
  }))).observe(document.querySelector('#events tbody'), { childList: true });
}"""
RECORD_RESTARTS = """() => {
  window.seen = {};
  const note = () => document.querySelectorAll('#pods tbody tr[data-pod]').forEach((row) => {
    const restarts = row.children[3] && row.children[3].textContent.trim();
    if (restarts && !(restarts in window.seen)) window.seen[restarts] = Date.now();
  });
  new MutationObserver(note).observe(document.querySelector('#pods tbody'), { childList: true, subtree: true, characterData: true });
}"""


def _bump_restarts(core, namespace, name, count):
    """The status change: the pod's container restarted once more, written to the pod's status."""
    pod = core.read_namespaced_pod_status(name, namespace)
    for status in pod.status.container_statuses:
        status.restart_count = count
    changed_at = time.time() * 1000
    core.replace_namespaced_pod_status(name, namespace, pod)
    return changed_at


def _seen(page, predicate):
    return next((at for text, at in page.evaluate("window.seen").items() if predicate(text)), None)


def test_pod_change_to_the_deployment_and_workload_pages(world, sandbox, asgi_server, tmp_path):
    extra = {"DEPLOYMENT_OBSERVE_SECONDS": OBSERVE_SECONDS} if OBSERVE_SECONDS else {}
    observe_every = float(OBSERVE_SECONDS or 5.0)  # the production default when not set
    worker = start_worker(tmp_path / "worker.log", **extra)
    stop = threading.Event()
    watcher = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    try:
        registered(world, sandbox)
        watcher.start()
        release = make_release(make_app(world.acme, "bench"), image="registry.example/bench:unready", replicas=1)
        # Before Playwright starts its event loop in this thread: broadcasting needs a thread without one.
        deployment, _ = deployment_create(
            actor=world.principal("developer"),
            release=release,
            environment=world.acme.environments.get(name="dev"),
            progress_deadline_seconds=900,
        )
        pod = wait_for(
            lambda: (
                DeploymentEvent.objects.filter(deployment=deployment, key__endswith=":created")
                .values_list("data__pod", flat=True)
                .first()
            ),
            timeout=30,
        )
        workload = wait_for(
            lambda: next((w for w in Workload.objects.filter(application__name="bench") if w.pods), None), timeout=30
        )
        deployment_page, workload_page = _pod_changes(asgi_server, world, sandbox, deployment, workload, pod)
        assert Deployment.objects.get(pk=deployment.pk).state == State.PROGRESSING
    finally:
        stop.set()
        watcher.join(timeout=15)
        worker.terminate()
        worker.wait(timeout=30)
    shown = {"observe_every_seconds": observe_every, "budget_p99_ms": 250}
    write("pod_change_to_deployment_page", {**summary(deployment_page), **shown})
    write("pod_change_to_workload_page", {**summary(workload_page), **shown})


def _pod_changes(asgi_server, world, sandbox, deployment, workload, pod):
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop shares this thread with the ORM
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context()
        pages = [context.new_page(), context.new_page()]
        pages[0].goto(f"{asgi_server}/accounts/login/")
        pages[0].get_by_label("Email").fill(world.user("viewer").email)
        pages[0].get_by_label("Password").fill(PASSWORD)
        pages[0].get_by_role("button", name="Sign In").click()
        pages[0].wait_for_url(lambda url: "/accounts/login/" not in url)
        pages[0].goto(f"{asgi_server}/t/acme/deployments/{deployment.pk}/")
        pages[0].wait_for_selector("#events-status:has-text('live')")
        pages[0].evaluate(RECORD_EVENTS)
        pages[1].goto(f"{asgi_server}/t/acme/workloads/{workload.pk}/")
        pages[1].wait_for_selector(f"#pods tr[data-pod='{pod}']")
        time.sleep(1)  # both sockets subscribed
        pages[1].evaluate(RECORD_RESTARTS)
        core = client.CoreV1Api(sandbox.api_client())
        namespace = deployment.environment.namespace
        to_deployment, to_workload = [], []
        for count in range(1, POD_CHANGES + 1):
            restarts = 100 + count
            changed_at = _bump_restarts(core, namespace, pod, restarts)
            message = f"restarted ({restarts} so far)"
            at = wait_for(lambda m=message: _seen(pages[0], lambda text: m in text), timeout=30, interval=0.02)
            to_deployment.append(at - changed_at)
            at = wait_for(lambda r=str(restarts): _seen(pages[1], lambda text: text == r), timeout=30, interval=0.02)
            to_workload.append(at - changed_at)
            time.sleep(0.5)  # changes apart, so each is timed from a quiet start
        browser.close()
    return to_deployment, to_workload


LIST_WORKLOADS = int(os.environ.get("BENCH_LIST_WORKLOADS", "500"))
LIST_REQUESTS = int(os.environ.get("BENCH_LIST_REQUESTS", "200"))


def _rows_of_every_kind(tenant, count):
    """`count` workloads of one tenant with pods, drift and a replica history, as reads leave them."""
    environments = list(tenant.environments.all())
    pods = [
        pod_row(
            {
                "metadata": {
                    "name": f"p{n}",
                    "labels": {f"{LABEL}/release": "1"},
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "spec": {"nodeName": "node-1"},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "web", "restartCount": 0, "state": {"running": {}}}],
                },
            }
        )
        for n in range(3)
    ]
    # Six hours, one sample a minute, as services.sampled keeps them.
    history = [[f"2026-01-01T{m // 60:02d}:{m % 60:02d}:00+00:00", 3, 3, None] for m in range(360)]
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
    rows = []
    for n in range(count):
        application = make_app(tenant, f"list-{n:04d}")
        release = make_release(
            application,
            image=f"registry.example/list-{n:04d}:1.0",
            env={f"SETTING_{k}": f"value {k}" for k in range(10)},
            liveness_probe=probe,
            readiness_probe=probe,
        )
        rows.append(
            Workload(
                tenant=tenant,
                application=application,
                environment=environments[n % len(environments)],
                release=release,
                image=release.image,
                health="healthy",
                sync="synced",
                replicas=3,
                ready_replicas=3,
                updated_replicas=3,
                available_replicas=3,
                pods=pods,
                replica_history=history,
                observed_at=timezone.now(),
            )
        )
    Workload.objects.bulk_create(rows)


def test_the_workload_list_api_with_many_workloads(world, api):
    """The workload list at LIST_WORKLOADS rows: queries for a page of 1 and of 100 (the same, whatever
    the size), and requests per second for a page of 100 and of the default size against /healthz, all
    served in-process by the Django test client signed in as a viewer."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _rows_of_every_kind(world.acme, LIST_WORKLOADS)
    api.as_user(world.user("viewer"))
    queries = {}
    for size in (1, 100):
        api.get("/api/v1/workloads/", {"page_size": size})  # caches warm (content types, the session)
        with CaptureQueriesContext(connection) as captured:
            answer = api.get("/api/v1/workloads/", {"page_size": size})
        assert answer.status_code == 200 and len(answer.json()["results"]) == size
        queries[size] = len(captured)
    default_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    assert len(api.get("/api/v1/workloads/").json()["results"]) == default_size

    calls = {
        "list_100": ("/api/v1/workloads/", {"page_size": 100}),
        "list_default": ("/api/v1/workloads/", None),
        "healthz": ("/healthz", None),
    }
    spent = dict.fromkeys(calls, 0.0)
    rounds = 4
    for _ in range(rounds):
        for name, (path, params) in calls.items():
            started = time.perf_counter()
            for _ in range(LIST_REQUESTS // rounds):
                assert api.get(path, params).status_code == 200
            spent[name] += time.perf_counter() - started
    rate = {name: round(rounds * (LIST_REQUESTS // rounds) / seconds, 1) for name, seconds in spent.items()}
    write(
        "workload_list_api",
        {
            "workloads": LIST_WORKLOADS,
            "queries_page_1": queries[1],
            "queries_page_100": queries[100],
            "list_page_100_per_s": rate["list_100"],
            f"list_default_page_{default_size}_per_s": rate["list_default"],
            "healthz_per_s": rate["healthz"],
            "list_vs_healthz": round(rate["list_100"] / rate["healthz"], 3),
            f"list_default_page_{default_size}_vs_healthz": round(rate["list_default"] / rate["healthz"], 3),
        },
    )
