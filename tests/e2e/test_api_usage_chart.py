"""The usage page in Chromium: Chart.js (vendored, no CDN) draws both charts under the strict CSP."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from apps.apikeys.models import UsageDaily
from apps.apikeys.services import apikey_create

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_usage_charts_draw_under_the_csp(page, asgi_server, world):
    api_key, _ = apikey_create(actor=world.principal("admin"), tenant=world.acme, name="ci", scopes=["apps:read"])
    today = datetime.now(UTC).date()
    for days_ago in range(5):
        UsageDaily.objects.create(
            tenant=world.acme,
            api_key=api_key,
            endpoint="GET application-list",
            day=today - timedelta(days=days_ago),
            requests=100 + 10 * days_ago,
            errors_4xx=days_ago,
            latency_ms_sum=2000,
            latency_buckets=[10, 50, 30, 10, 0, 0, 0, 0, 0, 0],
        )
    sign_in(page, asgi_server, world.user("admin").email)
    page.wait_for_url(f"{asgi_server}/**")
    page.goto(f"{asgi_server}/t/acme/keys/usage/")
    expect(page.locator("#usage-requests-chart")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#usage-latency-chart")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#usage-by-endpoint")).to_contain_text("GET application-list")
    assert page.console_errors == []
