"""Fixtures of the webhook tests: an independent receiver, endpoints, and a worker with quick retries."""

import pytest

from apps.webhooks.models import WebhookEndpoint
from tests.conftest import free_port

from .receiver import Receiver

# The worker process reads these from its environment; tests in this process use override_settings.
QUICK_RETRIES = "0.3,0.3,0.3"


@pytest.fixture
def receiver():
    running = Receiver(port=free_port()).start()
    yield running
    running.stop()


@pytest.fixture
def webhook_worker(request, monkeypatch):
    """A real Celery worker whose retries come after 0.3 s, and that disables after 3 failed deliveries."""
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", QUICK_RETRIES)
    monkeypatch.setenv("WEBHOOK_DISABLE_AFTER", "3")
    return request.getfixturevalue("celery_worker")


def private_endpoint(tenant, url, *, events=("deployment.*",), secret="whsec_private_test") -> WebhookEndpoint:
    """An endpoint an operator allowed to reach a private address (made directly, for in-process tests)."""
    endpoint = WebhookEndpoint(tenant=tenant, url=url, events=list(events), allow_private=True, allow_private_url=url)
    endpoint.secret = secret
    endpoint.save()
    return endpoint
