"""Throughput of the pages and lists people open most, against /healthz in the same run (issue budget:
the deployments list and the tenant's HTML pages at least a third of /healthz's requests/s).

    make bench BENCH=tests/bench/bench_pages.py

With a tenant of 30 applications, 3 environments placed on a sandbox cluster and 300 deployments; the
pages read what serves each application now from that cluster. Each page is measured twice:

- in process, through Django's test client (the whole middleware stack, sessions, key auth, templates;
  no socket): requests/s, the ratio to /healthz, queries per request, and the CPU time of a request in
  milliseconds (this thread's: steadier than requests/s on a busy machine; the database's time is not
  in it). The test client copies the context of every template it renders, so pages made of many
  includes pay more here than in production;
- over HTTP, as the issue's budget is measured: served by the web process as the image runs it (uvicorn,
  the ASGI application) with its requests sharing a pool of database connections as the deploy
  manifests configure it (DATABASE_POOL_SIZE=8), and again without the pool (a connection per request),
  asked by a client in another process over one keep-alive connection, one request after another:
  requests/s and the ratio to /healthz served the same way. The server's own cost per request is in
  both, so these ratios are higher than the in-process ones.

With PROFILE=1 it also prints where the time of each page goes (cProfile, in process: the project's
functions by cumulative time, everything by own time). The tenant overview and application page are
measured twice: reading the cluster per row themselves, and with a lifecycle watcher leading whose live
model answers instead. Results are written to tests/bench/results/pages.json.
"""

import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
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
    done, started, cpu = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < SECONDS:
        client.get(url)
        done += 1
    return done / (time.perf_counter() - started), len(queries), (time.thread_time() - cpu) * 1000 / done


# The client over HTTP runs in a process of its own, so its work does not take the server's GIL: one
# keep-alive connection, one request after another, like the test client.
HTTP_CLIENT = """
import http.client, sys, time
host, port, path, name, value, seconds = sys.argv[1:]
connection = http.client.HTTPConnection(host, int(port))
headers = {name: value} if name else {}
def get():
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status
assert get() == 200, (path, get())
done, started = 0, time.perf_counter()
while time.perf_counter() - started < float(seconds):
    get()
    done += 1
print(done / (time.perf_counter() - started))
"""


def _http_rate(server, client, url) -> float:
    """Requests/s of the page served by uvicorn (the ASGI application, as in production), asked by
    another process with the session cookie or key the test client carries."""
    cookie = settings.SESSION_COOKIE_NAME
    if cookie in client.cookies:
        header = ("Cookie", f"{cookie}={client.cookies[cookie].value}")
    elif "HTTP_AUTHORIZATION" in client.defaults:
        header = ("Authorization", client.defaults["HTTP_AUTHORIZATION"])
    else:
        header = ("", "")
    address = urlsplit(server)
    answer = subprocess.run(
        [sys.executable, "-c", HTTP_CLIENT, address.hostname, str(address.port), url, *header, str(SECONDS)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(answer.stdout)


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


def _measure(results, name, url, how, world, servers):
    client = _client(world, how)
    rate, queries, cpu = _rate(client, url)
    results[name] = {
        "requests_per_second": round(rate, 1),
        "queries": queries,
        "cpu_ms": round(cpu, 2),
        **{
            f"http_{kind}_requests_per_second": round(_http_rate(base, client, url), 1)
            for kind, base in servers.items()
        },
    }
    return client


def test_page_throughput_against_healthz(world, settings, sandbox, celery_worker, image_web):
    # The limiter's own cost is bench_ratelimit's business.
    settings.API_RATE_LIMITS_ENABLED = False
    servers = {
        kind: image_web(DATABASE_POOL_SIZE=size, API_RATE_LIMITS_ENABLED="false")
        for kind, size in (("pooled", "8"), ("unpooled", "0"))
    }
    registered(world, sandbox)  # a worker places and provisions the environments
    _seed(world)
    results = {}
    for name, (url, how) in PAGES.items():
        client = _measure(results, name, url, how, world, servers)
        if os.environ.get("PROFILE") and how:
            print(f"\n--- {name} ---\n{_profile(client, url)}")
    # With a lifecycle watcher leading, the blocks show what it read instead of reading the cluster per row.
    _watched(world)
    for name in ("tenant overview", "application page"):
        url, how = PAGES[name]
        client = _measure(results, f"{name}, watched", url, how, world, servers)
        if os.environ.get("PROFILE"):
            print(f"\n--- {name}, watched ---\n{_profile(client, url)}")
    healthz = results["healthz"]
    print(f"\n{'':<26} {'in process':^37} {'over HTTP, pooled':^20} {'over HTTP, unpooled':^20}")
    print(
        f"{'page':<26} {'req/s':>8} {'× healthz':>10} {'queries':>8} {'CPU ms':>8}"
        f" {'req/s':>9} {'× healthz':>10} {'req/s':>9} {'× healthz':>10}"
    )
    columns = ("requests_per_second", "http_pooled_requests_per_second", "http_unpooled_requests_per_second")
    for name, row in results.items():
        ratios = [round(row[key] / healthz[key], 3) for key in columns]
        row.update(
            {
                key.replace("requests_per_second", "of_healthz"): ratio
                for key, ratio in zip(columns, ratios, strict=True)
            }
        )
        rate, pooled, unpooled = (row[key] for key in columns)
        print(
            f"{name:<26} {rate:>8} {ratios[0]:>10} {row['queries']:>8} {row['cpu_ms']:>8}"
            f" {pooled:>9} {ratios[1]:>10} {unpooled:>9} {ratios[2]:>10}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pages.json").write_text(json.dumps(results, indent=2))
