"""Usage analytics: counted per request in Redis, flushed exactly into UsageDaily, read through the API and page."""

import csv
import io
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Sum

from apps.apikeys import ratelimit, usage
from apps.apikeys.models import LATENCY_BUCKETS_MS, UsageDaily, UsageFlush
from apps.apikeys.services import apikey_create

pytestmark = pytest.mark.django_db


def key_of(world, role="developer", scopes=("environments:read", "apikeys:read")):
    return apikey_create(actor=world.principal(role), tenant=world.acme, name=f"{role} script", scopes=list(scopes))


def test_requests_are_counted_per_key_endpoint_and_day_with_errors_and_latency(world, api):
    api_key, plaintext = key_of(world)
    api.with_key(plaintext)
    for _ in range(3):
        assert api.get("/api/v1/environments/").status_code == 200
    assert api.get("/api/v1/environments/999999/").status_code == 404
    assert api.post("/api/v1/environments/", {"tenant": "acme", "name": "qa"}).status_code == 403  # read-only key

    assert usage.flush() == 3
    rows = {row.endpoint: row for row in UsageDaily.objects.filter(api_key=api_key)}
    assert set(rows) == {"GET environment-list", "GET environment-detail", "POST environment-list"}
    listed = rows["GET environment-list"]
    assert (listed.requests, listed.errors, listed.day) == (3, 0, datetime.now(UTC).date())
    assert sum(listed.latency_buckets) == 3 and listed.latency_ms_sum >= 0
    assert (rows["GET environment-detail"].errors_4xx, rows["POST environment-list"].errors_4xx) == (1, 1)
    assert usage.flush() == 0  # nothing new: nothing written, nothing doubled
    assert UsageDaily.objects.filter(api_key=api_key).aggregate(n=Sum("requests"))["n"] == 5


def test_a_flush_under_concurrent_requests_loses_and_doubles_nothing(transactional_db, world):
    keys = [key_of(world, role)[0] for role in ("owner", "developer")]
    per_thread, threads = 400, 6
    endpoints = ["GET a-list", "GET b-detail", "POST c-list"]

    def count(index):
        for i in range(per_thread):
            api_key = keys[(index + i) % 2]
            usage.record(
                tenant_id=api_key.tenant_id,
                key_id=api_key.pk,
                endpoint=endpoints[i % 3],
                status=500 if i % 10 == 0 else 200,
                latency_ms=i % 300,
            )

    stop = threading.Event()

    def flush_repeatedly():
        while not stop.is_set():
            usage.flush()
        connection.close()

    flushers = [threading.Thread(target=flush_repeatedly) for _ in range(2)]
    counters = [threading.Thread(target=count, args=(i,)) for i in range(threads)]
    for thread in flushers + counters:
        thread.start()
    for thread in counters:
        thread.join()
    stop.set()
    for thread in flushers:
        thread.join()
    usage.flush()

    rows = UsageDaily.objects.all()
    totals = rows.aggregate(requests=Sum("requests"), errors=Sum("errors_5xx"))
    assert totals == {"requests": per_thread * threads, "errors": per_thread * threads // 10}
    assert sum(sum(row.latency_buckets) for row in rows) == per_thread * threads
    assert rows.count() == 2 * 3
    assert UsageFlush.objects.exists()


def test_a_batch_already_written_is_not_written_again(world):
    api_key, _ = key_of(world)
    usage.record(tenant_id=api_key.tenant_id, key_id=api_key.pk, endpoint="GET x-list", status=200, latency_ms=3)
    client = ratelimit.client()
    # A flush that wrote its batch and died before deleting it from Redis...
    client.rename(ratelimit.redis_key("usage", "pending"), ratelimit.redis_key("usage", "flushing", "b1"))
    UsageFlush.objects.create(batch="b1")
    assert usage.flush() == 0
    assert not UsageDaily.objects.exists()
    assert not client.exists(ratelimit.redis_key("usage", "flushing", "b1"))
    # ... and one that died before writing it: the next flush writes it once.
    usage.record(tenant_id=api_key.tenant_id, key_id=api_key.pk, endpoint="GET x-list", status=200, latency_ms=3)
    client.rename(ratelimit.redis_key("usage", "pending"), ratelimit.redis_key("usage", "flushing", "b2"))
    assert usage.flush() == 1
    assert UsageDaily.objects.get().requests == 1


def test_p95_comes_from_the_histogram():
    row = UsageDaily(requests=100, latency_buckets=[0, 90, 5, 4, 1, 0, 0, 0, 0, 0])
    assert row.latency_ms_p95 == LATENCY_BUCKETS_MS[2]
    assert UsageDaily(requests=0).latency_ms_p95 is None


def _usage_rows(world):
    mine, _ = key_of(world, "developer")
    theirs, _ = key_of(world, "owner")
    today = datetime.now(UTC).date()
    UsageDaily.objects.create(
        tenant=world.acme,
        api_key=mine,
        endpoint="GET application-list",
        day=today,
        requests=10,
        errors_4xx=2,
        latency_ms_sum=100,
    )
    UsageDaily.objects.create(
        tenant=world.acme,
        api_key=theirs,
        endpoint="=cmd|' /C calc'!A0",
        day=today,
        requests=4,
        errors_5xx=1,
        latency_ms_sum=40,
    )
    return mine, theirs


def test_members_read_their_own_keys_usage_and_admins_everyones(world, api):
    mine, theirs = _usage_rows(world)
    api.as_user(world.user("developer"))
    assert [row["key"] for row in api.get("/api/v1/api-usage/").json()["results"]] == [mine.pk]
    api.as_user(world.user("admin"))
    listed = api.get("/api/v1/api-usage/", {"key": theirs.pk}).json()["results"]
    assert [(row["key"], row["requests"], row["errors"]) for row in listed] == [(theirs.pk, 4, 1)]
    assert api.get("/api/v1/api-usage/", {"endpoint": "application"}).json()["results"][0]["key"] == mine.pk


def test_usage_exports_as_csv_safe_for_spreadsheets(world, api):
    _usage_rows(world)
    api.as_user(world.user("admin"))
    response = api.get("/api/v1/api-usage/export/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["endpoint"] for row in rows} == {"GET application-list", "'=cmd|' /C calc'!A0"}
    assert {row["requests"] for row in rows} == {"10", "4"}


def test_the_plan_endpoint_shows_the_plan_and_todays_consumption(world, api):
    _, plaintext = key_of(world)
    api.with_key(plaintext)
    api.get("/api/v1/environments/")
    body = api.get("/api/v1/plan/").json()
    assert body["tenant"] == "acme" and body["plan"]["burst"] >= 1
    assert body["today"]["used"] == 2  # the call before and this one
    api.as_user(world.user("developer"))
    assert api.get("/api/v1/plan/", {"tenant": "globex"}).status_code == 404
    assert api.get("/api/v1/plan/", {"tenant": "acme"}).json()["month"]["used"] == 2


def test_the_usage_page_shows_the_plan_chart_data_and_exports(world, client):
    _usage_rows(world)
    client.force_login(world.user("admin"))
    page = client.get("/t/acme/keys/usage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="usage-chart-data"' in html and "vendor/chartjs/chart.umd.min.js" in html
    assert "GET application-list" in html and 'id="plan-name"' in html
    export = client.get("/t/acme/keys/usage/", {"format": "csv"})
    assert b"GET application-list" in export.content
    client.force_login(world.user("viewer"))
    assert "GET application-list" not in client.get("/t/acme/keys/usage/").content.decode()
