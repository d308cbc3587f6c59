"""Benchmarks for the deployment pipeline. They print numbers and never fail on time.

    make bench BENCH=tests/bench/bench_deployments.py

- Status change to browser: a pod's status is changed in the sandbox (its restart count rises), the
  worker observes it, records a DeploymentEvent and broadcasts it, and an open deployment page in
  Chromium appends the row. The page notes Date.now() when each row appears; the difference from the
  wall-clock time of the change is the latency (budget: < 1 s at p99).
- 200 deployments queued at once against the sandbox, drained by 2 worker processes: total time,
  and the portal's overhead per deployment from its own event timestamps (queue wait, apply, and
  observe-and-record after the pods were ready).
Results are also written to tests/bench/results/deployments.json.
"""

import json
import os
import statistics
import time
from pathlib import Path

import pytest
from kubernetes import client

from apps.deployments.choices import TERMINAL, State
from apps.deployments.models import Deployment, DeploymentEvent
from apps.deployments.services import deployment_create
from sandbox import SandboxCluster
from tests.conftest import start_worker, wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
RESULTS = Path(__file__).parent / "results"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHANGES = 30
QUEUED_AT_ONCE = 200

# Run in the page through Playwright (not a page script): note when each event row appears.
RECORD_ROWS = """() => {
  window.rowSeen = {};
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((node) => {
    if (node.dataset && node.dataset.seq) window.rowSeen[node.dataset.seq] = [Date.now(), node.textContent];
  }))).observe(document.querySelector('#events tbody'), { childList: true });
}"""


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
    path = RESULTS / "deployments.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[section] = numbers
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{section}: {json.dumps(numbers)}")


def _sign_in(page, server, email):
    page.goto(f"{server}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{server}/**")


def _bump_restarts(core, namespace, name, count):
    """The status change: the pod's container restarted once more, written to the pod's status."""
    pod = core.read_namespaced_pod_status(name, namespace)
    for status in pod.status.container_statuses:
        status.restart_count = count
    changed_at = time.time() * 1000
    core.replace_namespaced_pod_status(name, namespace, pod)
    return changed_at


def workers(tmp_path, count):
    """Real worker processes. `make bench` sets LOG_LEVEL=WARNING, and a worker says "ready." at INFO."""
    return [start_worker(tmp_path / f"worker-{n}.log", LOG_LEVEL="INFO") for n in range(count)]


def stop(processes):
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def test_status_change_reaches_the_open_page(world, asgi_server, tmp_path):
    running = workers(tmp_path, 1)

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop shares this thread with the ORM
    with SandboxCluster(ready_after=0.3) as sandbox:
        registered(world, sandbox)
        release = make_release(make_app(world.acme, "bench"), image="registry.example/bench:unready", replicas=1)
        # Before Playwright starts its event loop in this thread: broadcasting needs a thread without one.
        deployment, _ = deployment_create(
            actor=world.principal("developer"),
            release=release,
            environment=world.acme.environments.get(name="dev"),
            progress_deadline_seconds=600,
        )
        latencies = _watch_changes(asgi_server, world, sandbox, deployment)
    stop(running)
    write("status_change_to_browser", {**summary(latencies), "budget_p99_ms": 1000, "observe_every_seconds": 1.0})


def _watch_changes(asgi_server, world, sandbox, deployment):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        _sign_in(page, asgi_server, world.user("viewer").email)
        page.goto(f"{asgi_server}/t/acme/deployments/{deployment.pk}/")
        page.wait_for_selector("#events-status:has-text('live')")
        page.evaluate(RECORD_ROWS)
        core = client.CoreV1Api(sandbox.api_client())
        namespace = deployment.environment.namespace
        pod = wait_for(
            lambda: (
                DeploymentEvent.objects.filter(deployment=deployment, key__endswith=":created")
                .values_list("data__pod", flat=True)
                .first()
            ),
            timeout=20,
        )
        wait_for(lambda: Deployment.objects.get(pk=deployment.pk).state == State.PROGRESSING, timeout=20)
        latencies = []
        for count in range(1, CHANGES + 1):
            changed_at = _bump_restarts(core, namespace, pod, 100 + count)
            message = f"restarted ({100 + count} so far)"
            seen = wait_for(
                lambda m=message: next(
                    (at for at, text in page.evaluate("window.rowSeen").values() if m in text), None
                ),
                timeout=10,
                interval=0.02,
            )
            latencies.append(seen - changed_at)
            time.sleep(0.3)
        browser.close()
    return latencies


def _queue(world, count):
    """`count` deployments, one per (application, environment), created as fast as the services allow."""
    environments = list(world.acme.environments.order_by("name"))
    actor = world.principal("owner")
    ids = []
    for n in range(count):
        release = make_release(make_app(world.acme, f"load-{n // len(environments)}"), replicas=1)
        deployment, _ = deployment_create(actor=actor, release=release, environment=environments[n % len(environments)])
        ids.append(deployment.pk)
    return ids


def _overheads(ids):
    """Per deployment, from its own events: queue wait, apply, and finishing after the pods were ready."""
    waits, applies, records, totals = [], [], [], []
    for deployment in Deployment.objects.filter(pk__in=ids).prefetch_related("events"):
        at = {e.state: e.created_at for e in deployment.events.all() if e.state}
        ready = max((e.created_at for e in deployment.events.all() if e.key.endswith(":ready")), default=None)
        waits.append((at[State.APPLYING] - at[State.QUEUED]).total_seconds() * 1000)
        applies.append((at[State.PROGRESSING] - at[State.APPLYING]).total_seconds() * 1000)
        if ready is not None:
            records.append((at[State.SUCCEEDED] - ready).total_seconds() * 1000)
        totals.append((at[State.SUCCEEDED] - at[State.QUEUED]).total_seconds() * 1000)
    return {
        "queue_wait": summary(waits),
        "apply": summary(applies),
        "ready_to_recorded": summary(records),
        "queued_to_succeeded": summary(totals),
    }


def test_two_hundred_deployments_queued_at_once(world, tmp_path):
    with SandboxCluster(ready_after=0.2) as sandbox:
        running = workers(tmp_path, 2)
        try:
            registered(world, sandbox)
            started = time.monotonic()
            ids = _queue(world, QUEUED_AT_ONCE)
            queued = time.monotonic() - started
            wait_for(
                lambda: not Deployment.objects.filter(pk__in=ids).exclude(state__in=TERMINAL).exists(),
                timeout=900,
                interval=0.5,
            )
            total = time.monotonic() - started
        finally:
            stop(running)
    states = dict.fromkeys(TERMINAL, 0)
    for state in Deployment.objects.filter(pk__in=ids).values_list("state", flat=True):
        states[state] += 1
    succeeded = [pk for pk in ids if Deployment.objects.get(pk=pk).state == State.SUCCEEDED]
    write(
        "two_hundred_queued",
        {
            "deployments": len(ids),
            "workers": 2,
            "sandbox_ready_after_s": 0.2,
            "states": states,
            "queueing_s": round(queued, 2),
            "total_s": round(total, 2),
            "worker_seconds_per_deployment": round(2 * total / len(ids), 3),
            "per_deployment": _overheads(succeeded),
            "median_events": statistics.median(
                Deployment.objects.filter(pk__in=ids).values_list("last_seq", flat=True)
            ),
        },
    )
