"""Benchmarks for the rate-limit budgets (issue 8). They print numbers and never fail on time.

    make bench BENCH=tests/bench/bench_ratelimit.py

- What API-key verification and the plan check (one Lua round trip, plus the usage count) cost one request:
  in isolation, and end to end (the same call with rate limits switched on and off). Budget: under 2 ms.
- Throughput of a list endpoint with key auth, tenant restriction, throttling and cursor pagination, against a
  bare Django view returning the same rows as JSON. Budget: at least a third of the bare view's requests/s.
Results are also written to tests/bench/results/ratelimit.json.
"""

import json
import statistics
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.http import JsonResponse
from django.test import Client
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.apikeys import usage
from apps.apikeys.authentication import APIKeyAuthentication
from apps.apikeys.models import Plan, TenantPlan
from apps.tenants.models import Environment, namespace_for

RESULTS = Path(__file__).parent / "results"
ROWS = 50
pytestmark = pytest.mark.django_db


def bare_environments(request):
    """What the API list returns, without DRF, auth, restriction, throttling or pagination."""
    rows = Environment.objects.filter(tenant__slug="acme").order_by("-id")[:ROWS]
    data = [
        {
            "id": e["id"],
            "tenant": e["tenant__slug"],
            "name": e["name"],
            "kind": e["kind"],
            "namespace": e["namespace"],
            "created_at": e["created_at"].isoformat().replace("+00:00", "Z"),
        }
        for e in rows.values("id", "tenant__slug", "name", "kind", "namespace", "created_at")
    ]
    return JsonResponse({"next": None, "previous": None, "results": data})


urlpatterns = [path("bench/bare/", bare_environments), path("", include("portal.urls"))]


def _save(name, data):
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "ratelimit.json"
    results = json.loads(target.read_text()) if target.exists() else {}
    results[name] = data
    target.write_text(json.dumps(results, indent=2))


def _timings(func, rounds):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 3), "p99_ms": round(samples[int(len(samples) * 0.99)], 3)}


@pytest.fixture
def generous_plan(world):
    plan = Plan.objects.create(
        name="bench",
        requests_per_second=1_000_000,
        burst=1_000_000,
        tenant_requests_per_second=1_000_000,
        tenant_burst=1_000_000,
    )
    TenantPlan.objects.create(tenant=world.acme, plan=plan)
    return plan


def test_key_and_rate_limit_checks_cost(world, generous_plan, api, settings):
    key = world.key("developer")
    request = Request(APIRequestFactory().get("/api/v1/environments/", HTTP_AUTHORIZATION=f"Bearer {key}"))
    auth = APIKeyAuthentication()

    def authenticate():
        django_settings.API_RATE_LIMITS_ENABLED = False  # authentication alone; the meter is part of it
        request.user, request.auth = auth.authenticate(request)

    def checks():
        django_settings.API_RATE_LIMITS_ENABLED = True
        request.user, request.auth = auth.authenticate(request)
        usage.record(
            tenant_id=request.auth.tenant_id,
            key_id=request.auth.pk,
            endpoint="GET environment-list",
            status=200,
            latency_ms=3.0,
        )

    checks()  # warm: connection, plan cache, script loaded
    auth_only, together = _timings(authenticate, 2000), _timings(checks, 2000)
    added = round(together["median_ms"] - auth_only["median_ms"], 3)

    # End to end: the same call through the whole stack, limits on and off, alternating so both see the same load.
    api.with_key(key)
    url = "/api/v1/environments/"
    samples = {True: [], False: []}
    settings.API_RATE_LIMITS_ENABLED = True  # restored after the test by the fixture
    for _ in range(500):
        for enabled in (True, False):
            django_settings.API_RATE_LIMITS_ENABLED = enabled  # no setting_changed: nothing is reset between calls
            started = time.perf_counter()
            assert api.get(url).status_code == 200
            samples[enabled].append((time.perf_counter() - started) * 1000)
    with_limits, without_limits = (
        {
            "median_ms": round(statistics.median(samples[flag]), 3),
            "p99_ms": round(sorted(samples[flag])[int(len(samples[flag]) * 0.99)], 3),
        }
        for flag in (True, False)
    )
    end_to_end = round(with_limits["median_ms"] - without_limits["median_ms"], 3)

    data = {
        "key_auth": auth_only,
        "key_auth_plus_limit_and_usage": together,
        "limit_added_median_ms": added,
        "request_with_limits": with_limits,
        "request_without_limits": without_limits,
        "end_to_end_added_median_ms": end_to_end,
        "budget_ms": 2.0,
        "within_budget": together["median_ms"] < 2.0 and end_to_end < 2.0,
    }
    _save("checks_cost", data)
    print(
        f"\nKey auth alone:                      median {auth_only['median_ms']:.3f} ms, p99 {auth_only['p99_ms']:.3f} ms"
        f"\nKey auth + plan check + usage count: median {together['median_ms']:.3f} ms, "
        f"p99 {together['p99_ms']:.3f} ms (limit adds {added:.3f} ms)"
        f"\nWhole request, limits on / off:      median {with_limits['median_ms']:.3f} / "
        f"{without_limits['median_ms']:.3f} ms (adds {end_to_end:.3f} ms)"
        f"\nBudget < 2 ms: {'met' if data['within_budget'] else 'MISSED'}"
    )


def _interleaved_throughput(client, calls: dict, seconds=8.0, block=10) -> tuple[dict, dict]:
    """Requests/s of each call, run in alternating blocks so that both see the same machine load."""
    spent, done, last = dict.fromkeys(calls, 0.0), dict.fromkeys(calls, 0), {}
    for call in calls.values():
        call(client)  # warm
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for name, call in calls.items():
            begin = time.perf_counter()
            for _ in range(block):
                last[name] = call(client)
            spent[name] += time.perf_counter() - begin
            done[name] += block
    return {name: done[name] / spent[name] for name in calls}, last


def test_list_endpoint_throughput_against_a_bare_view(world, generous_plan, settings):
    settings.ROOT_URLCONF = __name__
    for i in range(ROWS):
        name = f"bench{i}"
        Environment.objects.create(tenant=world.acme, name=name, namespace=namespace_for("acme", name))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.key('developer')}"}
    url = f"/api/v1/environments/?page_size={ROWS}"

    def unthrottled(client):
        django_settings.API_RATE_LIMITS_ENABLED = False
        try:
            return client.get(url, **headers)
        finally:
            django_settings.API_RATE_LIMITS_ENABLED = True

    rates, last = _interleaved_throughput(
        Client(),
        {
            "api": lambda client: client.get(url, **headers),
            "api_without_limits": unthrottled,
            "bare": lambda client: client.get("/bench/bare/"),
        },
    )
    api_rps, bare_rps, api_response, bare_response = rates["api"], rates["bare"], last["api"], last["bare"]
    assert api_response.json()["results"] == bare_response.json()["results"]
    assert "RateLimit-Remaining" in api_response
    ratio = api_rps / bare_rps
    data = {
        "rows": ROWS,
        "api_requests_per_second": round(api_rps, 1),
        "api_without_limits_requests_per_second": round(rates["api_without_limits"], 1),
        "bare_requests_per_second": round(bare_rps, 1),
        "ratio": round(ratio, 3),
        "budget_ratio": round(1 / 3, 3),
        "within_budget": ratio >= 1 / 3,
    }
    _save("list_throughput", data)
    print(
        f"\nList of {ROWS} rows, requests/s: API (key, restriction, throttle, cursor page) {api_rps:.0f}, "
        f"the same without the throttle {rates['api_without_limits']:.0f}, "
        f"bare Django view {bare_rps:.0f}; ratio {ratio:.2f} (budget >= 0.33: "
        f"{'met' if data['within_budget'] else 'MISSED'})"
    )
