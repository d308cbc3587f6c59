"""Plans hold API keys to their rates and quotas: through real web processes, the real Redis and the API."""

import math
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core import mail

from apps.apikeys import ratelimit
from apps.apikeys.models import Plan, QuotaNotice, TenantPlan
from apps.apikeys.signals import quota_warning
from apps.apikeys.tasks import send_quota_warning
from tests.conftest import BASE_DIR, child_env, free_port, stop_process, wait_until_answers

pytestmark = pytest.mark.django_db
URL = "/api/v1/environments/"


def put_on_plan(tenant, **limits):
    values = {
        "requests_per_second": 50,
        "burst": 100,
        "tenant_requests_per_second": 100,
        "tenant_burst": 200,
        "daily_quota": None,
        "monthly_quota": None,
        **limits,
    }
    plan = Plan.objects.create(name=f"plan-{tenant.slug}-{Plan.objects.count()}", **values)
    TenantPlan.objects.update_or_create(tenant=tenant, defaults={"plan": plan})
    return plan


def seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    return math.ceil(
        (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC) - now).total_seconds()
    )


# --- Through several real web processes -----------------------------------------------------------


def _start_web(port: int) -> subprocess.Popen:
    env = child_env(LOG_LEVEL="WARNING")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def web_processes(transactional_db):
    """Three uvicorn processes serving the portal against the test database and this run's Redis prefix."""
    ports = [free_port() for _ in range(3)]
    procs = [_start_web(port) for port in ports]
    try:
        wait_until_answers(*(f"http://127.0.0.1:{port}/healthz" for port in ports))
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            stop_process(proc)


def _hammer(servers: list[str], key: str, seconds: float, clients: int) -> tuple[list, float]:
    """`clients` threads call round-robin over the servers for `seconds`; returns (responses, elapsed)."""
    results, lock = [], threading.Lock()
    start = time.monotonic()
    deadline = start + seconds

    def client(index: int):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        n = index
        while time.monotonic() < deadline:
            response = session.get(servers[n % len(servers)] + URL, timeout=10)
            n += 1
            body = response.json()
            with lock:
                results.append((response.status_code, response.headers, body))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.monotonic() - start


@pytest.mark.server
def test_parallel_clients_on_three_web_processes_never_pass_the_plan_by_more_than_a_burst(world, web_processes):
    rate, burst = 5, 10
    put_on_plan(world.acme, requests_per_second=rate, burst=burst, tenant_requests_per_second=1000, tenant_burst=1000)
    key = world.key("developer", scopes=["environments:read"])

    results, elapsed = _hammer(web_processes, key, seconds=3.0, clients=12)

    statuses = Counter(status for status, _, _ in results)
    allowed = statuses[200]
    assert set(statuses) == {200, 429}, statuses
    assert statuses[429] > 0
    # The token bucket admits at most rate x time plus one burst; one more burst is the allowed margin.
    assert burst <= allowed <= rate * elapsed + burst + burst, (allowed, elapsed)
    for status, headers, body in results:
        assert headers["RateLimit-Limit"] == str(burst)
        remaining, reset = int(headers["RateLimit-Remaining"]), int(headers["RateLimit-Reset"])
        assert 0 <= remaining < burst and 0 <= reset <= math.ceil(burst / rate)
        assert f'{burst};w=2;name="key"' in headers["RateLimit-Policy"]
        if status == 429:
            assert body["code"] == "rate_limited"
            assert remaining == 0
            assert 1 <= int(headers["Retry-After"]) <= math.ceil(1 / rate)
        else:
            assert "Retry-After" not in headers


# --- Through the API in this process and the real Redis ----------------------------------------


def test_every_key_response_carries_the_headers_and_remaining_counts_down(world, api):
    put_on_plan(
        world.acme, requests_per_second=1, burst=20, tenant_requests_per_second=5, tenant_burst=50, daily_quota=1000
    )
    api.with_key(world.key("developer", scopes=["environments:read"]))
    remaining = []
    for _ in range(3):
        response = api.get(URL)
        assert response.status_code == 200
        assert response["RateLimit-Limit"] == "20"
        remaining.append(int(response["RateLimit-Remaining"]))
        assert response["RateLimit-Policy"] == ('20;w=20;name="key", 50;w=10;name="tenant", 1000;w=86400;name="day"')
    assert remaining == [19, 18, 17]
    assert api.get("/api/v1/nowhere/").status_code == 404  # not an API route: nothing to meter


def test_a_used_up_daily_quota_is_a_429_quota_exceeded_until_midnight(world, api):
    put_on_plan(world.acme, daily_quota=3, monthly_quota=100)
    api.with_key(world.key("developer", scopes=["environments:read"]))
    for expected_remaining in (2, 1, 0):
        response = api.get(URL)
        assert response.status_code == 200
        assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", str(expected_remaining))
    refused = api.get(URL)
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded"
    assert "daily quota of 3" in refused.json()["detail"]
    assert abs(int(refused["Retry-After"]) - seconds_to_midnight()) <= 2
    assert refused["RateLimit-Remaining"] == "0" and refused["RateLimit-Limit"] == "3"
    assert ratelimit.consumption(world.acme.pk) == (3, 3)  # refused calls do not count


def test_the_tenant_bucket_is_shared_by_all_its_keys(world):
    plan = put_on_plan(world.acme, requests_per_second=1, burst=5, tenant_requests_per_second=1, tenant_burst=6)
    limits = ratelimit.Limits.of(plan)
    first = [ratelimit.check(key_id=1001, tenant_id=world.acme.pk, limits=limits) for _ in range(7)]
    second = [ratelimit.check(key_id=1002, tenant_id=world.acme.pk, limits=limits) for _ in range(3)]
    assert [d.allowed for d in first] == [True] * 5 + [False] * 2
    assert first[-1].code == "rate_limited" and "API key" in first[-1].detail
    # The tenant had 6 tokens: the second key gets the one left, then the tenant's limit answers.
    assert [d.allowed for d in second] == [True, False, False]
    assert "tenant" in second[-1].detail and second[-1].limit == 6
    other = ratelimit.check(key_id=1003, tenant_id=world.globex.pk, limits=limits)
    assert other.allowed  # another tenant has buckets of its own


def test_session_calls_are_not_metered(world, api):
    put_on_plan(world.acme, requests_per_second=1, burst=1, tenant_requests_per_second=1, tenant_burst=1)
    api.as_user(world.user("developer"))
    for _ in range(5):
        response = api.get(URL)
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response


def test_with_redis_down_calls_pass_and_the_outage_is_logged(world, api, settings, caplog):
    put_on_plan(world.acme, requests_per_second=1, burst=1, tenant_requests_per_second=1, tenant_burst=1)
    api.with_key(world.key("developer", scopes=["environments:read"]))
    settings.API_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with caplog.at_level("WARNING"):
        responses = [api.get(URL) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("RateLimit-Limit" not in r for r in responses)
    assert "rate-limit redis unavailable" in caplog.text


def test_quota_warnings_go_out_once_per_period_and_threshold(world, api):
    put_on_plan(world.acme, daily_quota=5, monthly_quota=1000)
    received = []

    def receiver(sender, notice, **kwargs):
        received.append((notice.period, notice.threshold))

    quota_warning.connect(receiver)
    try:
        api.with_key(world.key("developer", scopes=["environments:read"]))
        statuses = [api.get(URL).status_code for _ in range(8)]
    finally:
        quota_warning.disconnect(receiver)
    assert statuses == [200] * 5 + [429] * 3
    assert received == [("day", 80), ("day", 100)]
    notices = QuotaNotice.objects.filter(tenant=world.acme).order_by("threshold")
    assert [(n.threshold, n.used, n.quota) for n in notices] == [(80, 4, 5), (100, 5, 5)]

    mail.outbox.clear()
    assert send_quota_warning(notices[0].pk) == 2  # the owner and the admin
    message = mail.outbox[0]
    assert sorted(message.to) == ["admin@acme.test", "owner@acme.test"]
    assert "80% of its daily API quota" in message.subject
    assert "/t/acme/keys/usage/" in message.body
