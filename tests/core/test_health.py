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
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS,
                            "OPTIONS": {"socket_connect_timeout": 0.5}}},
        CELERY_BROKER_URL=DEAD_REDIS,
        CHANNEL_LAYERS={"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                    "CONFIG": {"hosts": [DEAD_REDIS]}}},
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
