"""Throughput of the pages and lists people open most, against /healthz in the same run (issue budget:
the deployments list and the tenant's HTML pages at least a third of /healthz's requests/s).

    make bench BENCH=tests/bench/bench_pages.py

In process, through Django's test client (the whole middleware stack, sessions, key auth, templates;
no socket), with a tenant of 30 applications, 3 environments placed on a sandbox cluster and 300
deployments; the pages read what serves each application now from that cluster. Prints requests/s,
the ratio to /healthz, and queries per request for each; with PROFILE=1 it also prints where the time of
each page goes (cProfile: the project's functions by cumulative time, everything by own time). The
tenant overview and application page are measured twice: reading the cluster per row themselves, and
with a lifecycle watcher leading whose live model answers instead. Results are written to tests/bench/results/pages.json.
"""

import cProfile
import io
import json
import os
import pstats
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.catalog.models import Application
from apps.core import leases
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.workloads.models import Workload
from apps.workloads.watcher import LEASE
from tests.deployments.conftest import make_app, make_release, registered

RESULTS = Path(__file__).parent / "results"
APPS, PER_APP = 30, 10
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
pytestmark = pytest.mark.django_db(transaction=True)

PAGES = {
    "healthz": ("/healthz", None),
    "deployments API": ("/api/v1/deployments/?tenant=acme", "key"),
    "applications API": ("/api/v1/applications/?tenant=acme", "key"),
    "deployments page": ("/t/acme/deployments/", "session"),
    "tenant overview": ("/t/acme/", "session"),
    "applications page": ("/t/acme/apps/", "session"),
    "application page": ("/t/acme/apps/app0/", "session"),
}


def _seed(world):
    environments = list(world.acme.environments.order_by("pk"))
    developer = world.user("developer")
    rows = []
    for a in range(APPS):
        app = make_app(world.acme, f"app{a}")
        releases = [make_release(app, image=f"registry.example/app{a}:{n}.0") for n in range(3)]
        for n in range(PER_APP):
            rows.append(
                Deployment(
                    tenant=world.acme,
                    application=app,
                    release=releases[n % 3],
                    environment=environments[n % len(environments)],
                    state=State.SUCCEEDED if n < PER_APP - 1 else State.FAILED,
                    outcome="Done.",
                    requested_by=developer,
                    started_at=timezone.now(),
                    finished_at=timezone.now(),
                )
            )
    Deployment.objects.bulk_create(rows)


def _watched(world):
    """A watcher leads and has read every application's workload in every environment."""
    leases.try_acquire(LEASE, "bench-watcher", 600)
    now = timezone.now()
    Workload.objects.bulk_create(
        Workload(
            tenant=world.acme,
            application=app,
            environment=environment,
            release=app.releases.order_by("-number").first(),
            replicas=2,
            ready_replicas=2,
            observed_at=now,
        )
        for app in Application.objects.filter(tenant=world.acme)
        for environment in world.acme.environments.all()
    )


def _client(world, how):
    client = Client()
    if how == "session":
        client.force_login(world.user("developer"))
    elif how == "key":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.key('developer')}"
    return client


def _rate(client, url):
    assert client.get(url).status_code == 200, url  # warm: templates, caches, connection
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        client.get(url)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        client.get(url)
        done += 1
    return done / (time.perf_counter() - started), len(queries)


def _profile(client, url) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"/apps/", 25)  # the project's own code
    stats.sort_stats("tottime").print_stats(15)  # and where the CPU goes
    return out.getvalue()


def test_page_throughput_against_healthz(world, settings, sandbox, celery_worker):
    settings.API_RATE_LIMITS_ENABLED = False  # the limiter's own cost is bench_ratelimit's business
    registered(world, sandbox)  # a worker places and provisions the environments
    _seed(world)
    results = {}
    for name, (url, how) in PAGES.items():
        client = _client(world, how)
        rate, queries = _rate(client, url)
        results[name] = {"requests_per_second": round(rate, 1), "queries": queries}
        if os.environ.get("PROFILE") and how:
            print(f"\n--- {name} ---\n{_profile(client, url)}")
    # With a lifecycle watcher leading, the blocks show what it read instead of reading the cluster per row.
    _watched(world)
    for name in ("tenant overview", "application page"):
        url, how = PAGES[name]
        rate, queries = _rate(_client(world, how), url)
        results[f"{name}, watched"] = {"requests_per_second": round(rate, 1), "queries": queries}
    base = results["healthz"]["requests_per_second"]
    print(f"\n{'page':<20} {'req/s':>8} {'× healthz':>10} {'queries':>8}")
    for name, row in results.items():
        row["of_healthz"] = round(row["requests_per_second"] / base, 3)
        print(f"{name:<20} {row['requests_per_second']:>8} {row['of_healthz']:>10} {row['queries']:>8}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pages.json").write_text(json.dumps(results, indent=2))
