"""Readiness checks: each returns (ok, detail) and never raises, so /readyz can report them all."""

import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    duration_ms: float

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    def as_dict(self) -> dict:
        return asdict(self)


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
    return "reachable"


def check_migrations() -> str:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        raise RuntimeError(f"{len(plan)} unapplied migration(s): {names}")
    return "all applied"


def check_redis() -> str:
    key = "readyz:probe"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache round trip failed")
    return "reachable"


def check_broker() -> str:
    from portal.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "reachable"


def check_channel_layer() -> str:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.probe"})
        message = await layer.receive(channel)
        return message["type"] == "readyz.probe"

    if not async_to_sync(round_trip)():
        raise RuntimeError("channel layer round trip failed")
    return "reachable"


def check_worker_heartbeat() -> str:
    """Informational: a stale heartbeat is reported but does not make the web process unready."""
    from .models import Heartbeat
    from .tasks import WORKER_HEARTBEAT

    beat = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    if beat is None:
        return "no heartbeat yet"
    age = beat.age_seconds()
    state = "stale" if age > settings.HEARTBEAT_STALE_AFTER_SECONDS else "fresh"
    return f"{state}: last beat {age:.0f}s ago from {beat.worker or 'unknown worker'}"


REQUIRED_CHECKS = {
    "database": check_database,
    "migrations": check_migrations,
    "redis": check_redis,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
}


def _run(name, func) -> Check:
    started = time.monotonic()
    try:
        detail, ok = func(), True
    except Exception as exc:  # a readiness probe reports every failure, whatever its type
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return Check(name, ok, detail, round((time.monotonic() - started) * 1000, 1))


def run_checks() -> tuple[bool, list[Check]]:
    """Run every required check; the heartbeat is added for information when the database is up."""
    results = [_run(name, func) for name, func in REQUIRED_CHECKS.items()]
    ready = all(check.ok for check in results)
    if results[0].ok:
        beat = _run("worker_heartbeat", check_worker_heartbeat)
        results.append(beat)
    return ready, results
