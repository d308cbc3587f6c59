"""Liveness, readiness and metrics endpoints."""

import pytest
from django.test import override_settings

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_dependency(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    for name in ["database", "migrations", "redis", "broker", "channel_layer"]:
        assert body["checks"][name]["ok"] is True
    assert body["checks"]["worker_heartbeat"]["detail"] == "no heartbeat yet"


@pytest.mark.django_db
def test_readyz_names_redis_when_it_is_down(client, settings):
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": DEAD_REDIS,
                "OPTIONS": {"socket_connect_timeout": 0.5},
            }
        },
        CELERY_BROKER_URL=DEAD_REDIS,
        CHANNEL_LAYERS={
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}
        },
    ):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    for name in ["redis", "broker", "channel_layer"]:
        assert body["checks"][name]["ok"] is False, name
        assert body["checks"][name]["detail"]


@pytest.mark.django_db
def test_readyz_shows_the_worker_heartbeat(client):
    from apps.core.models import Heartbeat

    Heartbeat.record("worker", worker="worker-1")
    detail = client.get("/readyz").json()["checks"]["worker_heartbeat"]["detail"]
    assert detail.startswith("fresh") and "worker-1" in detail


@pytest.mark.django_db
def test_metrics_are_exposed_for_prometheus(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


@pytest.mark.server
def test_database_down_gives_503_and_a_friendly_page(tmp_path):
    """A web process whose PostgreSQL is gone: /readyz names it, pages show the error page, no crash."""
    import os
    import subprocess
    import sys
    import time

    import requests

    from tests.conftest import BASE_DIR, free_port

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/gone",
        "DATABASE_CONNECT_TIMEOUT": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--port", str(port), "--lifespan", "off"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["ok"] is False and checks["redis"]["ok"] is True
        page = requests.get(f"{base}/accounts/login/", timeout=10)
        assert page.status_code == 500
        assert "Something went wrong on our side" in page.text
        assert page.headers["X-Request-ID"] in page.text
        assert proc.poll() is None  # still serving
    finally:
        proc.terminate()
        proc.wait(timeout=10)
