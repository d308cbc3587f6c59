"""The webhook pages: subscribe with the secret shown once, the deliveries table, actions, the notice."""

import pytest
from django.urls import reverse

from apps.tenants.roles import Role
from apps.webhooks.models import DeliveryState, WebhookEndpoint
from tests.base.cases_webhooks import PUBLIC_URL, delivery, endpoint

pytestmark = pytest.mark.django_db


def test_an_admin_subscribes_and_sees_the_secret_once(world, client):
    client.force_login(world.user(Role.ADMIN))
    url = reverse("webhooks:list", kwargs={"tenant_slug": "acme"})
    response = client.post(url, {"url": PUBLIC_URL, "description": "CI", "events": ["deployment.*", "quota.warning"]})
    assert response.status_code == 200
    row = WebhookEndpoint.objects.get()
    assert row.events == ["deployment.*", "quota.warning"]
    assert row.secret in response.content.decode() and "no-store" in response["Cache-Control"]
    detail = client.get(reverse("webhooks:detail", kwargs={"tenant_slug": "acme", "pk": row.pk})).content.decode()
    assert row.secret not in detail and PUBLIC_URL in detail
    assert row.secret not in client.get(url).content.decode()


def test_a_loopback_url_is_refused_on_the_form(world, client):
    client.force_login(world.user(Role.OWNER))
    response = client.post(
        reverse("webhooks:list", kwargs={"tenant_slug": "acme"}), {"url": "http://127.0.0.1:8000/", "events": ["*"]}
    )
    assert response.status_code == 400 and "public addresses" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_detail_page_shows_deliveries_and_the_disabled_notice(world, client):
    row = endpoint(world.acme, is_active=False, disabled_reason="Disabled after 10 failed deliveries in a row")
    delivery(row, state=DeliveryState.FAILED, response_code=503, latency_ms=87, attempts=6, error="HTTP 503")
    client.force_login(world.user(Role.ADMIN))
    page = client.get(reverse("webhooks:detail", kwargs={"tenant_slug": "acme", "pk": row.pk})).content.decode()
    assert 'id="disabled-notice"' in page and "10 failed deliveries" in page
    assert "503" in page and "87 ms" in page and 'id="enable"' in page

    response = client.post(reverse("webhooks:enable", kwargs={"tenant_slug": "acme", "pk": row.pk}))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.is_active


def test_the_navigation_shows_webhooks_to_admins_only(world, client):
    overview = reverse("tenants:overview", kwargs={"tenant_slug": "acme"})
    link = reverse("webhooks:list", kwargs={"tenant_slug": "acme"})
    client.force_login(world.user(Role.ADMIN))
    assert link in client.get(overview).content.decode()
    client.force_login(world.user(Role.DEVELOPER))
    assert link not in client.get(overview).content.decode()
