"""Usage analytics: every API-key request is counted in Redis, and a beat task adds the counts to UsageDaily.

Counting is one pipelined round trip of HINCRBYs into one hash. The flush renames that hash (new
requests start a fresh one), writes its sums with one upsert per row in a transaction that also
records the batch id, and then deletes it. A flush that dies half-way leaves the renamed hash for the
next one; the recorded batch id makes writing it twice impossible. So no count is lost or doubled.
"""

from __future__ import annotations

import bisect
import contextlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import redis
import structlog
from django.db import connection, transaction
from django.utils import timezone

from . import ratelimit
from .models import LATENCY_BUCKETS_MS, APIKey, UsageFlush

logger = structlog.get_logger(__name__)

METRICS = ("requests", "errors_4xx", "errors_5xx", "throttled", "latency_ms_sum")
_SHORT = {"r": "requests", "e4": "errors_4xx", "e5": "errors_5xx", "th": "throttled", "ms": "latency_ms_sum"}
UPSERT_CHUNK = 500
KEEP_FLUSH_RECORDS = timedelta(days=7)


def _pending() -> str:
    return ratelimit.redis_key("usage", "pending")


def _flushing(batch: str = "*") -> str:
    return ratelimit.redis_key("usage", "flushing", batch)


def endpoint_of(request) -> str:
    """ "GET application-list": the method and the route's name, never the path with its ids."""
    match = getattr(request, "resolver_match", None)
    return f"{request.method} {match.view_name if match else 'unmatched'}"[:120]


def record(*, tenant_id: int, key_id: int, endpoint: str, status: int, latency_ms: float, when=None) -> None:
    """Count one request. Never raises: analytics must not fail a request."""
    if not ratelimit.available():
        return
    day = (when or datetime.now(UTC)).date().isoformat()
    field = f"{tenant_id}|{key_id}|{day}|{endpoint}|"
    bucket = bisect.bisect_left(LATENCY_BUCKETS_MS, latency_ms)
    try:
        pipe = ratelimit.client().pipeline(transaction=False)
        pending = _pending()
        pipe.hincrby(pending, field + "r", 1)
        pipe.hincrby(pending, field + "ms", round(latency_ms))
        pipe.hincrby(pending, field + f"b{bucket}", 1)
        if 400 <= status < 500:
            pipe.hincrby(pending, field + "e4", 1)
        if status == 429:
            pipe.hincrby(pending, field + "th", 1)
        if status >= 500:
            pipe.hincrby(pending, field + "e5", 1)
        pipe.execute()
    except redis.RedisError as error:
        ratelimit.failed("usage", error)


def _rows(data: dict) -> dict[tuple, dict]:
    """Hash fields "tenant|key|day|endpoint|metric" -> {(tenant, key, endpoint, day): sums}."""
    rows: dict[tuple, dict] = defaultdict(
        lambda: {**dict.fromkeys(METRICS, 0), "latency_buckets": [0] * (len(LATENCY_BUCKETS_MS) + 1)}
    )
    for field, value in data.items():
        tenant_id, key_id, day, endpoint, metric = field.decode().split("|")
        row = rows[(int(tenant_id), int(key_id), endpoint, day)]
        if metric.startswith("b"):
            row["latency_buckets"][int(metric[1:])] += int(value)
        else:
            row[_SHORT[metric]] += int(value)
    return rows


_UPSERT = """
INSERT INTO apikeys_usagedaily AS u (tenant_id, api_key_id, endpoint, day, requests, errors_4xx, errors_5xx,
                                     throttled, latency_ms_sum, latency_buckets)
VALUES {values}
ON CONFLICT (tenant_id, api_key_id, endpoint, day) DO UPDATE SET
  requests = u.requests + EXCLUDED.requests,
  errors_4xx = u.errors_4xx + EXCLUDED.errors_4xx,
  errors_5xx = u.errors_5xx + EXCLUDED.errors_5xx,
  throttled = u.throttled + EXCLUDED.throttled,
  latency_ms_sum = u.latency_ms_sum + EXCLUDED.latency_ms_sum,
  latency_buckets = ARRAY(
    SELECT COALESCE(old, 0) + COALESCE(new, 0)
    FROM unnest(u.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS b(old, new, i) ORDER BY i)
"""


def _write(rows: dict[tuple, dict]) -> int:
    keys = dict(APIKey.objects.filter(pk__in={key_id for _, key_id, _, _ in rows}).values_list("pk", "tenant_id"))
    valid = [(k, v) for k, v in rows.items() if keys.get(k[1]) == k[0]]
    if len(valid) < len(rows):
        logger.warning("usage of unknown API keys dropped", rows=len(rows) - len(valid))
    with connection.cursor() as cursor:
        for start in range(0, len(valid), UPSERT_CHUNK):
            chunk = valid[start : start + UPSERT_CHUNK]
            params = []
            for (tenant_id, key_id, endpoint, day), sums in chunk:
                params += [tenant_id, key_id, endpoint, day, *(sums[m] for m in METRICS), sums["latency_buckets"]]
            values = ", ".join(["(%s, %s, %s, %s::date, %s, %s, %s, %s, %s, %s::bigint[])"] * len(chunk))
            cursor.execute(_UPSERT.format(values=values), params)
    return len(valid)


def _flush_batch(client: redis.Redis, key: bytes) -> int:
    batch = key.decode().rsplit(":", 1)[-1]
    rows = _rows(client.hgetall(key))
    written = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO apikeys_usageflush (batch, flushed_at) VALUES (%s, now()) "
                "ON CONFLICT DO NOTHING RETURNING batch",
                [batch],
            )
            first_time = cursor.fetchone() is not None
        if first_time:
            written = _write(rows)
    client.delete(key)
    return written


def flush() -> int:
    """Move every counted request into UsageDaily; returns the number of rows written. Safe to run in parallel."""
    client = ratelimit.client()
    with contextlib.suppress(redis.ResponseError):  # nothing counted since the last flush
        client.rename(_pending(), _flushing(uuid.uuid4().hex))
    written = 0
    for key in client.scan_iter(match=_flushing(), count=100):
        written += _flush_batch(client, key)
    UsageFlush.objects.filter(flushed_at__lt=timezone.now() - KEEP_FLUSH_RECORDS).delete()
    return written
