"""Every request gets an id, returned to the caller and carried into the Celery tasks it queues."""

import re

import pytest

from apps.core.models import Heartbeat
from apps.core.request_id import bind_request_id, clear_request_id
from apps.core.tasks import heartbeat
from tests.conftest import wait_for


def test_each_response_carries_a_fresh_request_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_well_formed_incoming_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-proxy-4711-abc"})
    assert response["X-Request-ID"] == "edge-proxy-4711-abc"


def test_a_malformed_incoming_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db(transaction=True)
def test_request_id_travels_into_the_worker(celery_worker):
    bind_request_id("req-from-the-web-0001")
    try:
        heartbeat.delay()
    finally:
        clear_request_id()
    beat = wait_for(lambda: Heartbeat.objects.filter(name="worker").first())
    assert beat.worker
    log = wait_for(
        lambda: "request_id=req-from-the-web-0001" in celery_worker.log.read_text() and celery_worker.log.read_text()
    )
    heartbeat_lines = [line for line in log.splitlines() if "heartbeat" in line and "req-from-the-web-0001" in line]
    assert heartbeat_lines
