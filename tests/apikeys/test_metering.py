"""What reaches authentication is metered (issue 12, item 11): a key's call refused afterwards (403) still
takes its share of the plan, failed key attempts are limited per client address, and WebSocket handshakes
with a key are metered like REST calls. Against the real Redis, through the API and the ASGI application."""

from datetime import UTC, datetime

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.test import override_settings

from apps.apikeys import ratelimit
from apps.apikeys.failures import TOO_MANY_FAILURES
from apps.apikeys.models import UsageDaily
from apps.apikeys.usage import flush
from apps.apikeys.websocket import CLOSE_RATE_LIMITED
from apps.core.consumers import CLOSE_UNAUTHENTICATED
from tests.api.test_websocket_keys import _first_message

from .test_rate_limits import URL, put_on_plan

pytestmark = pytest.mark.django_db
BAD_KEY = "pk_nosuchkey_0000000000000000000000000000"


@pytest.fixture(autouse=True)
def at_the_start_of_a_window():
    """Failures are counted in fixed windows (60 s here): a test that straddled a boundary on a busy machine
    would see its count start over. Each test starts on a boundary and the clock ticks on from there."""
    with time_machine.travel(datetime(2026, 1, 7, 12, 0, tzinfo=UTC), tick=True):
        yield


def test_a_key_refused_for_a_missing_scope_still_uses_up_its_plan(world, api):
    put_on_plan(world.acme, daily_quota=3)
    api.with_key(world.key("developer", scopes=["apps:read"]))
    for remaining in ("2", "1", "0"):
        refused = api.get(URL)
        assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
        assert refused["RateLimit-Remaining"] == remaining
    response = api.get(URL)
    assert response.status_code == 429 and response.json()["code"] == "quota_exceeded"
    assert ratelimit.consumption(world.acme.pk) == (3, 3)


def test_refused_and_throttled_calls_appear_in_the_usage(world, api):
    put_on_plan(world.acme, daily_quota=1)
    api.with_key(world.key("developer", scopes=["apps:read"]))
    assert [api.get(URL).status_code for _ in range(2)] == [403, 429]
    flush()
    row = UsageDaily.objects.get(tenant=world.acme)
    assert (row.requests, row.errors_4xx, row.throttled) == (2, 2, 1)


@override_settings(API_AUTH_FAILURES_PER_IP=3)
def test_failed_key_attempts_are_limited_per_client_address(world, api):
    good = world.key("developer", scopes=["environments:read"])
    for key in (BAD_KEY, f"{good[:-4]}xxxx", "garbage"):
        assert api.with_key(key).get(URL, REMOTE_ADDR="198.51.100.7").status_code == 401
    # The budget is used up: every further wrong key from there is refused with 429 ...
    blocked = api.with_key(BAD_KEY).get(URL, REMOTE_ADDR="198.51.100.7")
    assert blocked.status_code == 429 and blocked.json()["code"] == TOO_MANY_FAILURES
    assert 1 <= int(blocked["Retry-After"]) <= 60
    # ... but a right key still works, so one client cannot lock out everyone behind a shared address.
    assert api.with_key(good).get(URL, REMOTE_ADDR="198.51.100.7").status_code == 200


@override_settings(API_AUTH_FAILURES_PER_IP=2)
def test_failed_attempts_from_one_ipv6_network_count_together(world, api):
    """An IPv6 client holds a whole /64; counting single addresses would let it rotate past the limit."""
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2"):
        assert api.with_key(BAD_KEY).get(URL, REMOTE_ADDR=host).status_code == 401
    assert api.with_key(BAD_KEY).get(URL, REMOTE_ADDR="2001:db8:1:2::3").status_code == 429
    assert api.with_key(BAD_KEY).get(URL, REMOTE_ADDR="2001:db8:1:3::1").status_code == 401  # another /64


@override_settings(API_AUTH_FAILURES_PER_IP=2)
def test_a_key_used_from_a_refused_address_counts_as_a_failure_not_against_the_plan(world, api):
    put_on_plan(world.acme, daily_quota=100)
    api.with_key(world.key(allowed_ips=["10.9.9.9"]))
    assert [api.get(URL, REMOTE_ADDR="198.51.100.9").status_code for _ in range(3)] == [403, 403, 429]
    assert ratelimit.consumption(world.acme.pk) == (0, 0)


def test_anonymous_and_session_calls_are_not_counted_as_failures(world, api, settings):
    settings.API_AUTH_FAILURES_PER_IP = 1
    for _ in range(3):
        assert api.get(URL).status_code in (401, 403)
    assert api.as_user(world.user("developer")).get(URL).status_code == 200
    assert api.with_key(world.key("developer")).get(URL).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_websocket_handshakes_with_a_key_are_metered_like_requests(world):
    await sync_to_async(put_on_plan)(world.acme, daily_quota=2)
    key = await sync_to_async(world.key)("viewer")
    for _ in range(2):
        message = await _first_message("/ws/tenants/acme/", key)
        assert isinstance(message, dict) and '"type": "hello"' in message["text"]
    assert await _first_message("/ws/tenants/acme/", key) == CLOSE_RATE_LIMITED
    assert await sync_to_async(ratelimit.consumption)(world.acme.pk) == (2, 2)


@pytest.mark.django_db(transaction=True)
async def test_failed_websocket_handshakes_count_against_the_address(world, settings):
    settings.API_AUTH_FAILURES_PER_IP = 2
    key = await sync_to_async(world.key)("viewer")
    for bad in (BAD_KEY, ""):
        assert await _first_message("/ws/tenants/acme/", bad) == CLOSE_UNAUTHENTICATED
    assert await _first_message("/ws/tenants/acme/", BAD_KEY) == CLOSE_RATE_LIMITED
    message = await _first_message("/ws/tenants/acme/", key)  # a right key is never locked out
    assert isinstance(message, dict) and '"type": "hello"' in message["text"]
