"""Benchmarks for the API budgets (DESIGN.md section 11). They print numbers and never fail on time.

    make bench

- API-key authentication: the cost APIKeyAuthentication adds to one request, and its queries.
- List endpoints: queries for a page of 1 row and of 100 rows.
Results are also written to tests/bench/results/api.json.
"""

import json
import statistics
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.apikeys.authentication import APIKeyAuthentication
from tests.base.api_cases import API_CASES

RESULTS = Path(__file__).parent / "results"
pytestmark = pytest.mark.django_db


def _time_per_call(func, rounds=2000):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {"median_ms": statistics.median(samples) * 1000, "p99_ms": samples[int(len(samples) * 0.99)] * 1000}


def _save(name, data):
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "api.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[name] = data
    path.write_text(json.dumps(results, indent=2))


def test_api_key_authentication_cost(world):
    key = world.key("developer")
    factory = APIRequestFactory()
    auth = APIKeyAuthentication()
    request = Request(factory.get("/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {key}"))
    auth.authenticate(request)  # warm: connection open, last_used written
    with CaptureQueriesContext(connection) as queries:
        auth.authenticate(request)
    timing = _time_per_call(lambda: auth.authenticate(request))
    data = {**timing, "queries": len(queries)}
    _save("api_key_authentication", data)
    print(
        f"\nAPI-key authentication: median {timing['median_ms']:.3f} ms, p99 {timing['p99_ms']:.3f} ms, "
        f"{len(queries)} query per request"
    )


def test_list_endpoint_query_counts(world, api):
    rows = {}
    for case in API_CASES:
        reader = world.user(case.read_role)
        api.as_user(reader)
        url = reverse(f"{case.basename}-list")
        counts = []
        for size, add in ((1, 1), (100, 99)):
            case.make(world, world.acme, add, reader)
            api.get(url, {"page_size": size})  # the session's first request also records its activity
            with CaptureQueriesContext(connection) as queries:
                response = api.get(url, {"page_size": size})
            listed = response.data["results"] if isinstance(response.data, dict) else response.data
            counts.append((len(queries), len(listed)))
        rows[case.basename] = {"page_1": counts[0], "page_100": counts[1]}
    _save("list_query_counts", rows)
    print("\nList queries (queries, rows) for a page of 1 and a page of 100:")
    for name, count in rows.items():
        print(f"  {name:<12} {count['page_1']} {count['page_100']}")
