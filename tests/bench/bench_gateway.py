"""Benchmark of the gateway's consumer-key check (docs/traffic.md). It prints numbers and never fails on time.

    make bench BENCH=tests/bench/bench_gateway.py

What it measures, with a warm cache (the key's and the route's entries in Redis) and a plan too large to
refuse anything, so every call does the whole work of a 200:

- `request`: the portal's time for one `GET /api/v1/gateway/verify/?route=<id>` with `X-Api-Key`, through
  Django's test client: the WSGI handler, every middleware, URL resolution, the DRF view, the check and
  the JSON answer. Not included: the network between the controller and the portal, and the web server.
- `view`: the same request handed straight to the view (Django's RequestFactory): the request minus the
  middleware stack and URL resolution, which every portal request pays.
- `check`: `gateway.verify` alone: the digest, one Redis MGET for both entries, one Lua call for the
  consumer's bucket and quota.
- `redis_ping`: one Redis round trip on the same connection, the floor the two round trips stand on.

Each is given as wall time and as this thread's CPU time: on a loaded machine the wall time mostly
measures the wait for a CPU, the CPU time what the check itself costs.

Budget: under 2 ms at p99 for `request`. Results are also written to tests/bench/results/gateway.json.
"""

import json
import os
import statistics
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.apikeys import ratelimit
from apps.tenants.roles import Role
from apps.traffic import gateway
from apps.traffic.api.consumer_views import GatewayVerifyView
from apps.traffic.consumer_keys import consumer_key_create
from apps.traffic.models import Route
from tests.base.cases_traffic import route, usage_plan

RESULTS = Path(__file__).parent / "results"
ROUNDS = 3000
pytestmark = pytest.mark.django_db


def _percentiles(samples: list[float], prefix: str) -> dict:
    samples.sort()
    return {
        f"{prefix}p50_ms": round(statistics.median(samples) * 1000, 3),
        f"{prefix}p99_ms": round(samples[int(len(samples) * 0.99)] * 1000, 3),
    }


def _time(func, rounds=ROUNDS) -> dict:
    """Wall time per call, and the CPU time of this thread per call (what the portal spends, without
    the waits for Redis or for a CPU on a loaded machine)."""
    for _ in range(200):  # warm: connections open, code paths loaded
        func()
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.thread_time()
        func()
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return {**_percentiles(wall, ""), **_percentiles(cpu, "cpu_"), "rounds": rounds}


def test_verify_with_a_warm_cache(world):
    plan = usage_plan(world.acme, requests_per_second=100_000, burst=100_000)
    admin = world.principal(Role.ADMIN)
    _, key = consumer_key_create(actor=admin, tenant=world.acme, name="bench", usage_plan=plan)
    protected = route(world.acme, auth=Route.Auth.API_KEY)
    client, url = Client(), reverse("gateway-verify")
    query = {"route": protected.pk}

    def request():
        response = client.get(url, query, HTTP_X_API_KEY=key)
        assert response.status_code == 200

    view, factory = GatewayVerifyView.as_view(), RequestFactory()

    def view_only():
        response = view(factory.get(url, query, HTTP_X_API_KEY=key))
        assert response.status_code == 200

    request()  # fills the cache
    with CaptureQueriesContext(connection) as queries:
        request()
    results = {
        "request": _time(request),
        "view": _time(view_only),
        "check": _time(lambda: gateway.verify(route=str(protected.pk), key=key)),
        "redis_ping": _time(ratelimit.client().ping),
        "queries_per_warm_request": len(queries),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gateway.json").write_text(json.dumps(results, indent=2))
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\nGateway consumer-key check, warm cache, per call (load average {load} on {os.cpu_count()} CPUs):")
    for name in ("request", "view", "check", "redis_ping"):
        r = results[name]
        print(
            f"  {name:<11} wall p50 {r['p50_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms   "
            f"cpu p50 {r['cpu_p50_ms']:7.3f} ms  p99 {r['cpu_p99_ms']:7.3f} ms"
        )
    print(f"  database queries per warm request: {results['queries_per_warm_request']}  (budget: p99 under 2 ms)")
