"""The API limiter: token buckets per key and per tenant, and daily and monthly quotas, in Redis.

One Lua script decides a request in one round trip, atomically, so every web process shares the same
buckets and counters. Whatever goes wrong with Redis, the request passes (fail open) and a line is
logged: the API must not go down with its rate limiter.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import redis
import structlog
from django.conf import settings
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.commands.core import Script

from .models import Plan, TenantPlan

logger = structlog.get_logger(__name__)

# KEYS: key bucket, tenant bucket, the tenant's day counter, its month counter (hashes).
# ARGV: key rate, key burst, tenant rate, tenant burst, day quota, month quota (0: none), day ttl,
#       month ttl (s), warning percent.
# Returns {allowed, reason, key tokens, tenant tokens, day used, month used, warnings}; tokens are
# strings because Redis truncates Lua numbers to integers. Warnings name each threshold crossed for
# the first time in its period ("day:80", "month:100"): HSETNX makes that once, across processes.
LUA_CHECK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function level(key, rate, burst)
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or ts == nil then return burst end
  local elapsed = math.max(0, now - ts)
  return math.min(burst, tokens + elapsed * rate / 1000)
end

local key_rate, key_burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local ten_rate, ten_burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local day_quota, month_quota = tonumber(ARGV[5]), tonumber(ARGV[6])
local key_tokens = level(KEYS[1], key_rate, key_burst)
local ten_tokens = level(KEYS[2], ten_rate, ten_burst)
local day_used = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
local month_used = tonumber(redis.call('HGET', KEYS[4], 'n') or '0')

local function answer(allowed, reason)
  return {allowed, reason, string.format('%.4f', key_tokens), string.format('%.4f', ten_tokens),
          day_used, month_used, ''}
end
if month_quota > 0 and month_used >= month_quota then return answer(0, 'month') end
if day_quota > 0 and day_used >= day_quota then return answer(0, 'day') end
if key_tokens < 1 then return answer(0, 'key') end
if ten_tokens < 1 then return answer(0, 'tenant') end

key_tokens, ten_tokens = key_tokens - 1, ten_tokens - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.4f', key_tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(key_burst * 1000 / key_rate) + 1000)
redis.call('HSET', KEYS[2], 'tokens', string.format('%.4f', ten_tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[2], math.ceil(ten_burst * 1000 / ten_rate) + 1000)
day_used = redis.call('HINCRBY', KEYS[3], 'n', 1)
month_used = redis.call('HINCRBY', KEYS[4], 'n', 1)
if day_used == 1 then redis.call('EXPIRE', KEYS[3], ARGV[7]) end
if month_used == 1 then redis.call('EXPIRE', KEYS[4], ARGV[8]) end

local warnings = {}
local warn = tonumber(ARGV[9])
local function crossed(counter, period, used, quota)
  if quota <= 0 then return end
  if used * 100 >= quota * warn and redis.call('HSETNX', counter, 'w' .. warn, 1) == 1 then
    table.insert(warnings, period .. ':' .. warn)
  end
  if used >= quota and redis.call('HSETNX', counter, 'w100', 1) == 1 then
    table.insert(warnings, period .. ':100')
  end
end
crossed(KEYS[3], 'day', day_used, day_quota)
crossed(KEYS[4], 'month', month_used, month_quota)
local result = answer(1, '')
result[7] = table.concat(warnings, ',')
return result
"""

DENIED_BY_RATE = "rate_limited"
DENIED_BY_QUOTA = "quota_exceeded"


# --- Plans, as the limiter sees them ------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """A plan's numbers, detached from the database so a web process can keep them."""

    name: str
    requests_per_second: int
    burst: int
    tenant_requests_per_second: int
    tenant_burst: int
    daily_quota: int | None
    monthly_quota: int | None

    @classmethod
    def of(cls, plan: Plan) -> Limits:
        return cls(
            plan.name,
            plan.requests_per_second,
            plan.burst,
            plan.tenant_requests_per_second,
            plan.tenant_burst,
            plan.daily_quota,
            plan.monthly_quota,
        )

    @classmethod
    def fallback(cls) -> Limits:
        return cls(name="Default", **settings.API_FALLBACK_PLAN)


_plans: dict[int, tuple[float, Limits]] = {}
_plans_lock = threading.Lock()


def plan_of(tenant_id: int) -> Plan | None:
    """The tenant's assigned plan, else the default plan, else None (then the settings' fallback applies)."""
    assigned = TenantPlan.objects.select_related("plan").filter(tenant_id=tenant_id).first()
    if assigned is not None:
        return assigned.plan
    return Plan.objects.filter(is_default=True).first()


def limits_for(tenant_id: int) -> Limits:
    """The tenant's limits, read from the database at most once per API_PLAN_CACHE_SECONDS per process."""
    now = time.monotonic()
    cached = _plans.get(tenant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    plan = plan_of(tenant_id)
    limits = Limits.of(plan) if plan is not None else Limits.fallback()
    with _plans_lock:
        _plans[tenant_id] = (now + settings.API_PLAN_CACHE_SECONDS, limits)
    return limits


@receiver([post_save, post_delete], sender=Plan)
@receiver([post_save, post_delete], sender=TenantPlan)
def _forget_plans(**kwargs):
    """A change made in this process applies to its next request; other processes follow within the TTL."""
    with _plans_lock:
        _plans.clear()


# --- Redis --------------------------------------------------------------------------------------

_client: redis.Redis | None = None
_script: Script | None = None
_down_until = 0.0
# After a failure, Redis is not asked again for this long, so an outage does not add a timeout to every call.
RETRY_AFTER_FAILURE_SECONDS = 5.0


def client() -> redis.Redis:
    global _client
    if _client is None:
        timeout = settings.API_RATE_LIMIT_REDIS_TIMEOUT
        _client = redis.Redis.from_url(
            settings.API_RATE_LIMIT_REDIS_URL,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
    return _client


def _check_script() -> Script:
    """The Lua check, registered with the client on first use."""
    global _script
    if _script is None:
        _script = client().register_script(LUA_CHECK)
    return _script


@receiver(setting_changed)
def _reset_client(setting, **kwargs):
    global _client, _script, _down_until
    if setting in ("API_RATE_LIMIT_REDIS_URL", "API_RATE_LIMIT_REDIS_TIMEOUT", "CACHES"):
        _client, _script, _down_until = None, None, 0.0
    if setting in ("API_FALLBACK_PLAN", "API_PLAN_CACHE_SECONDS"):
        _forget_plans()


def redis_key(*parts) -> str:
    """Keys under the cache prefix, so each test run (and each portal) has its own key space."""
    return ":".join((settings.CACHES["default"]["KEY_PREFIX"], "apikeys", *map(str, parts)))


def available() -> bool:
    return time.monotonic() >= _down_until


def failed(operation: str, error: Exception) -> None:
    """Log once per back-off period and stop asking Redis for a few seconds."""
    global _down_until
    if available():
        logger.warning("rate-limit redis unavailable; API calls pass unlimited", operation=operation, error=str(error))
    _down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS


# --- The check ----------------------------------------------------------------------------------


@dataclass
class Decision:
    """The limiter's answer, with what the RateLimit-* headers report."""

    allowed: bool
    code: str  # "" when allowed, else DENIED_BY_RATE or DENIED_BY_QUOTA
    detail: str
    limit: int
    remaining: int
    reset: int  # seconds until the reported limit is whole again
    retry_after: int | None
    policy: str
    day_used: int
    month_used: int
    warnings: list[str]

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": self.policy,
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _periods(now: datetime) -> tuple[date, date, int, int]:
    """Today, this month's first day, and the seconds until each ends (UTC)."""
    today = now.date()
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    month_end = datetime.combine(next_month, datetime.min.time(), tzinfo=UTC)
    return today, month, math.ceil((tomorrow - now).total_seconds()), math.ceil((month_end - now).total_seconds())


def counter_keys(tenant_id: int, now: datetime | None = None) -> tuple[str, str]:
    today, month, _, _ = _periods(now or datetime.now(UTC))
    return redis_key("day", tenant_id, today.isoformat()), redis_key("month", tenant_id, month.strftime("%Y-%m"))


def check(*, key_id: int, tenant_id: int, limits: Limits | None = None) -> Decision | None:
    """Decide one API-key request and count it when allowed. None when Redis could not be asked."""
    if not available():
        return None
    limits = limits or limits_for(tenant_id)
    now = datetime.now(UTC)
    keys = [redis_key("bucket", "key", key_id), redis_key("bucket", "tenant", tenant_id), *counter_keys(tenant_id, now)]
    return _run(keys, limits, now)


def check_consumer(*, consumer_key_id: int, limits: Limits) -> Decision | None:
    """Decide one call of a consumer key (apps/traffic) with the same script: one bucket and the day and
    month counters of that key alone. The key's bucket is passed as both buckets of the script, which
    then reads the same level twice and writes it once less a token: a single bucket. None when Redis
    could not be asked."""
    if not available():
        return None
    now = datetime.now(UTC)
    bucket = redis_key("consumer", "bucket", consumer_key_id)
    return _run([bucket, bucket, *consumer_counter_keys(consumer_key_id, now)], limits, now)


def consumer_counter_keys(consumer_key_id: int, now: datetime | None = None) -> tuple[str, str]:
    """The day's and the month's counters of a consumer key's calls (UTC), as its quotas count them."""
    today, month, _, _ = _periods(now or datetime.now(UTC))
    return (
        redis_key("consumer", "day", consumer_key_id, today.isoformat()),
        redis_key("consumer", "month", consumer_key_id, month.strftime("%Y-%m")),
    )


def consumer_consumption(consumer_key_ids: list[int]) -> dict[int, tuple[int, int]] | None:
    """Calls counted today and this month for each consumer key, in one round trip; None when Redis
    cannot be asked. A failure here is only a page's, so it does not stop the limiter asking (`failed`)."""
    if not available():
        return None
    now = datetime.now(UTC)
    try:
        pipe = client().pipeline(transaction=False)
        for key_id in consumer_key_ids:
            for counter in consumer_counter_keys(key_id, now):
                pipe.hget(counter, "n")
        counts = [int(value or 0) for value in pipe.execute()]
    except redis.RedisError as error:
        logger.warning("consumer key calls could not be read", error=str(error))
        return None
    return {key_id: (counts[2 * i], counts[2 * i + 1]) for i, key_id in enumerate(consumer_key_ids)}


def _run(keys: list[str], limits: Limits, now: datetime) -> Decision | None:
    _, _, day_left, month_left = _periods(now)
    args = [
        limits.requests_per_second,
        limits.burst,
        limits.tenant_requests_per_second,
        limits.tenant_burst,
        limits.daily_quota or 0,
        limits.monthly_quota or 0,
        day_left + 86400,
        month_left + 86400,
        settings.API_QUOTA_WARNING_PERCENT,
    ]
    try:
        allowed, reason, key_tokens, ten_tokens, day_used, month_used, warnings = _check_script()(keys=keys, args=args)
    except redis.RedisError as error:
        failed("check", error)
        return None
    return _decision(
        limits,
        bool(allowed),
        reason.decode(),
        float(key_tokens),
        float(ten_tokens),
        int(day_used),
        int(month_used),
        warnings.decode(),
        day_left,
        month_left,
    )


def _decision(
    limits, allowed, reason, key_tokens, ten_tokens, day_used, month_used, warnings, day_left, month_left
) -> Decision:
    # Each limit as (limit, remaining, seconds until whole again); the headers report the tightest.
    candidates = [
        (limits.burst, math.floor(key_tokens), math.ceil((limits.burst - key_tokens) / limits.requests_per_second)),
        (
            limits.tenant_burst,
            math.floor(ten_tokens),
            math.ceil((limits.tenant_burst - ten_tokens) / limits.tenant_requests_per_second),
        ),
    ]
    if limits.daily_quota:
        candidates.append((limits.daily_quota, max(0, limits.daily_quota - day_used), day_left))
    if limits.monthly_quota:
        candidates.append((limits.monthly_quota, max(0, limits.monthly_quota - month_used), month_left))
    limit, remaining, reset = min(candidates, key=lambda c: (c[1], -c[2]))
    retry_after, code, detail = None, "", ""
    if reason in ("day", "month"):
        limit, remaining, reset = (
            (limits.daily_quota, 0, day_left) if reason == "day" else (limits.monthly_quota, 0, month_left)
        )
        retry_after, code = reset, DENIED_BY_QUOTA
        detail = f"The {'daily' if reason == 'day' else 'monthly'} quota of {limit} requests of this tenant is used up."
    elif reason in ("key", "tenant"):
        limit, remaining, reset = candidates[0] if reason == "key" else candidates[1]
        rate, tokens = (
            (limits.requests_per_second, key_tokens)
            if reason == "key"
            else (limits.tenant_requests_per_second, ten_tokens)
        )
        retry_after, code = max(1, math.ceil((1 - tokens) / rate)), DENIED_BY_RATE
        detail = (
            "This API key is sending requests too fast."
            if reason == "key"
            else "This tenant's API keys together are sending requests too fast."
        )
    policy = [
        f'{limits.burst};w={max(1, math.ceil(limits.burst / limits.requests_per_second))};name="key"',
        f"{limits.tenant_burst};w={max(1, math.ceil(limits.tenant_burst / limits.tenant_requests_per_second))}"
        f';name="tenant"',
    ]
    if limits.daily_quota:
        policy.append(f'{limits.daily_quota};w=86400;name="day"')
    if limits.monthly_quota:
        policy.append(f'{limits.monthly_quota};w=2592000;name="month"')
    return Decision(
        allowed=allowed,
        code=code,
        detail=detail,
        limit=limit,
        remaining=max(0, remaining),
        reset=max(0, reset),
        retry_after=retry_after,
        policy=", ".join(policy),
        day_used=day_used,
        month_used=month_used,
        warnings=[w for w in warnings.split(",") if w],
    )


def consumption(tenant_id: int) -> tuple[int, int] | None:
    """Requests counted today and this month for the tenant; None when Redis cannot be asked."""
    if not available():
        return None
    try:
        pipe = client().pipeline(transaction=False)
        for key in counter_keys(tenant_id):
            pipe.hget(key, "n")
        day, month = pipe.execute()
    except redis.RedisError as error:
        failed("consumption", error)
        return None
    return int(day or 0), int(month or 0)
