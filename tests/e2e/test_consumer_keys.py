"""An admin publishes an API to a partner from the browser: a usage plan, a consumer key on it shown once,
the key let through by the gateway's check with the plan's name, then revoked and refused (ASGI server,
Chromium, real PostgreSQL and Redis)."""

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from apps.traffic.models import ConsumerKey, Route
from tests.base.cases_traffic import route as make_route

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _verify(server, route, key) -> tuple[int, str]:
    request = urllib.request.Request(f"{server}/api/v1/gateway/verify/?route={route.pk}", headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("X-Consumer-Plan", "")
    except urllib.error.HTTPError as refused:
        return refused.code, ""


def test_an_admin_gives_a_partner_a_key_on_a_plan_and_revokes_it(page, asgi_server, world):
    sign_in(page, asgi_server, world.user("admin").email)
    page.goto(f"{asgi_server}/t/acme/")
    page.locator("#nav-consumers").click()
    expect(page.locator("#no-protected-routes")).to_be_visible()

    plan_form = page.locator("#add-usage-plan")
    plan_form.get_by_label("Name").fill("gold")
    plan_form.get_by_label("Requests per second").fill("20")
    plan_form.get_by_label("Burst").fill("10")
    plan_form.get_by_role("button", name="Add plan").click()
    expect(page.locator("#consumers-refused")).to_be_visible()  # a burst below the rate
    expect(page.locator("#add-usage-plan .invalid-feedback")).to_contain_text("at least the rate")
    page.locator("#add-usage-plan").get_by_label("Burst").fill("40")
    page.locator("#add-usage-plan").get_by_role("button", name="Add plan").click()
    expect(page.locator(".alert-success")).to_contain_text("Usage plan “gold” added")
    expect(page.locator('#usage-plans tr[data-plan="gold"]')).to_contain_text("40")

    protected = make_route(world.acme, auth=Route.Auth.API_KEY)
    key_form = page.locator("#create-consumer-key")
    key_form.get_by_label("Name").fill("partner-1")
    key_form.get_by_label("Usage plan").select_option("gold")
    key_form.get_by_role("button", name="Create key").dblclick()  # one key all the same
    expect(page.locator("#key-shown-once")).to_contain_text("“partner-1” created")
    expect(page.locator("#key-limits")).to_contain_text("20 requests/s, bursts of 40")
    plaintext = page.locator("#plaintext-key").input_value()
    assert plaintext.startswith("ck_")
    assert _verify(asgi_server, protected, plaintext) == (200, "gold")
    assert ConsumerKey.objects.filter(tenant=world.acme).count() == 1

    page.get_by_role("link", name="I have copied it").click()
    row = page.locator("#consumer-keys tbody tr").first
    expect(row).to_contain_text("partner-1")
    expect(row).to_contain_text("gold")
    expect(row.locator(".calls-today")).to_have_text("1")  # the call the gateway let through above
    expect(page.locator("body")).not_to_contain_text(plaintext)
    expect(page.locator('#usage-plans tr[data-plan="gold"]').get_by_role("button", name="Delete gold")).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke partner-1").click()
    expect(page.locator(".alert-success")).to_contain_text("is revoked")
    expect(page.locator("#consumer-keys tbody tr").first).to_contain_text("revoked")
    assert _verify(asgi_server, protected, plaintext)[0] == 401
