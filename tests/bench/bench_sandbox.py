"""Benchmarks for the sandbox cluster. They print numbers and never fail on time.

    make bench BENCH=tests/bench/bench_sandbox.py

- Server-side applies per second of small Deployments from one official client, sequentially:
  creating new ones, re-applying unchanged ones, and changing their image (budget: 300/s). Measured
  against the sandbox in this process (as tests run it) and as its own process (as a local run
  runs it), beside the ceiling: the same client against a trivial aiohttp server that returns a
  fixed Deployment.
- Watch latency: from a status change (PATCH .../status) to its arrival on an official-client
  watch in another thread (budget: < 100 ms).
Results are also written to tests/bench/results/sandbox.json.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from kubernetes import client, watch

from sandbox import SandboxCluster
from tests.conftest import free_port

RESULTS = Path(__file__).parent / "results"
BASE_DIR = Path(__file__).resolve().parents[2]
APPLY = "application/apply-patch+yaml"
ROUNDS = 400

TRIVIAL_SERVER = """
import sys
from aiohttp import web
from sandbox.server import new_event_loop
body = open(sys.argv[2], "rb").read()
async def reply(request):
    await request.read()
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", reply)
print("listening", flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None, loop=new_event_loop())
"""


def _save(name, data):
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "sandbox.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[name] = data
    path.write_text(json.dumps(results, indent=2))


def _manifest(name, image="registry.example/web:v1"):
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"containerPort": 8080}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def _api(url):
    return client.ApiClient(client.Configuration(host=url))


def _applies_per_second(apps, namespace, names, image):
    started = time.perf_counter()
    for name in names:
        apps.patch_namespaced_deployment(
            name, namespace, _manifest(name, image), field_manager="bench", force=True, _content_type=APPLY
        )
    return len(names) / (time.perf_counter() - started)


def _apply_rates(url, namespace):
    api = _api(url)
    apps = client.AppsV1Api(api)
    names = [f"web-{i}" for i in range(ROUNDS)]
    _applies_per_second(apps, namespace, ["warm-up"], "registry.example/web:v1")
    rates = {
        "create": _applies_per_second(apps, namespace, names, "registry.example/web:v1"),
        "unchanged": _applies_per_second(apps, namespace, names, "registry.example/web:v1"),
        "new_image": _applies_per_second(apps, namespace, names, "registry.example/web:v2"),
    }
    api.close()
    return rates


@contextmanager
def _process(args, env=None):
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        line = proc.stdout.readline()
        assert "listening" in line, line + proc.stdout.read()
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextmanager
def _standalone_sandbox():
    port = free_port()
    with _process(["-m", "sandbox", "--port", str(port), "--ready-after", "0.2"]):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _trivial_server(tmp_path):
    body = tmp_path / "deployment.json"
    body.write_text(
        json.dumps(
            {
                **_manifest("web"),
                "metadata": {
                    "name": "web",
                    "namespace": "default",
                    "uid": "0",
                    "resourceVersion": "1",
                    "generation": 1,
                    "creationTimestamp": "2024-01-01T00:00:00Z",
                    "labels": {"app": "web"},
                },
                "status": {},
            }
        )
    )
    port = free_port()
    with _process(["-c", TRIVIAL_SERVER, str(port), str(body)]):
        yield f"http://127.0.0.1:{port}"


def test_server_side_applies_per_second(tmp_path):
    results = {}
    with _trivial_server(tmp_path) as url:
        api = _api(url)
        apps = client.AppsV1Api(api)
        names = [f"web-{i}" for i in range(ROUNDS)]
        _applies_per_second(apps, "default", names[:20], "registry.example/web:v1")
        results["ceiling_trivial_aiohttp"] = _applies_per_second(apps, "default", names, "registry.example/web:v1")
        api.close()
    with SandboxCluster() as cluster:
        results["sandbox_in_process"] = _apply_rates(cluster.url, "default")
    with _standalone_sandbox() as url:
        results["sandbox_own_process"] = _apply_rates(url, "default")
    _save("server_side_apply_per_second", results)
    print(f"\nServer-side applies per second, {ROUNDS} small Deployments, one official client, sequential:")
    print(f"  ceiling (trivial aiohttp server, fixed JSON): {results['ceiling_trivial_aiohttp']:7.0f}/s")
    for mode in ("sandbox_in_process", "sandbox_own_process"):
        rates = results[mode]
        print(
            f"  {mode:<20} create {rates['create']:5.0f}/s   unchanged {rates['unchanged']:5.0f}/s   "
            f"new image {rates['new_image']:5.0f}/s"
        )


def _watch_latency(url, rounds=200):
    api = _api(url)
    core = client.CoreV1Api(api)
    service = core.create_namespaced_service(
        "default", {"metadata": {"name": "bench"}, "spec": {"selector": {"app": "bench"}, "ports": [{"port": 80}]}}
    )
    arrivals, ready = {}, threading.Event()
    stream = watch.Watch()

    def follow():
        watch_api = client.CoreV1Api(_api(url))
        for event in stream.stream(
            watch_api.list_namespaced_service,
            "default",
            resource_version=service.metadata.resource_version,
            timeout_seconds=120,
        ):
            ready.set()
            ingress = ((event["raw_object"].get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if ingress:
                arrivals[ingress[0]["hostname"]] = time.perf_counter()
            if len(arrivals) >= rounds:
                stream.stop()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    core.patch_namespaced_service_status(
        "bench", "default", {"status": {"loadBalancer": {"ingress": [{"hostname": "warm-up"}]}}}
    )
    ready.wait(10)
    arrivals.clear()
    sent = {}
    for i in range(rounds):
        marker = f"change-{i}"
        sent[marker] = time.perf_counter()
        core.patch_namespaced_service_status(
            "bench", "default", {"status": {"loadBalancer": {"ingress": [{"hostname": marker}]}}}
        )
        deadline = time.perf_counter() + 5
        while marker not in arrivals and time.perf_counter() < deadline:
            time.sleep(0.0005)
    thread.join(timeout=10)
    api.close()
    samples = sorted((arrivals[m] - sent[m]) * 1000 for m in sent if m in arrivals)
    return {
        "median_ms": statistics.median(samples),
        "p99_ms": samples[int(len(samples) * 0.99) - 1],
        "max_ms": samples[-1],
        "received": len(samples),
        "sent": rounds,
    }


def test_status_change_to_watch_latency():
    with SandboxCluster() as cluster:
        in_process = _watch_latency(cluster.url)
    with _standalone_sandbox() as url:
        own_process = _watch_latency(url)
    results = {"sandbox_in_process": in_process, "sandbox_own_process": own_process}
    _save("status_change_to_watch_latency", results)
    print("\nStatus change (PATCH /status sent) to its arrival on an official-client watch:")
    for mode, data in results.items():
        print(
            f"  {mode:<20} median {data['median_ms']:6.2f} ms   p99 {data['p99_ms']:6.2f} ms   "
            f"max {data['max_ms']:6.2f} ms   ({data['received']}/{data['sent']} received)"
        )
