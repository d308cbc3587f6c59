"""The deploy form in the browser: choosing an application lists only its releases (latest first and
chosen), and choosing a strategy shows only its fields."""

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_choosing_an_application_and_a_strategy_shows_only_what_applies(page, asgi_server, world):
    shop = make_app(world.acme, "shop")
    make_release(shop, image="registry.example/shop:1.0")
    latest = make_release(shop, image="registry.example/shop:2.0")
    make_release(make_app(world.acme, "web"), image="registry.example/web:9.9")
    sign_in(page, asgi_server, world.user("developer").email)

    page.goto(f"{asgi_server}/t/acme/deployments/new/")
    expect(page.get_by_label("Release")).to_have_count(0)
    expect(page.get_by_role("button", name="Next")).to_be_hidden()  # choosing is enough once the script runs
    page.get_by_label("Application").select_option(label="shop")
    expect(page.locator("#deploy-application")).to_have_text("shop")
    release = page.get_by_label("Release")
    expect(release).to_have_value(str(latest.pk))
    expect(release.locator("option")).to_have_text(
        ["#2 · registry.example/shop:2.0 (latest)", "#1 · registry.example/shop:1.0"]
    )

    steps, keep = page.get_by_label("Canary steps (% of traffic)"), page.get_by_label("Keep the old colour (seconds)")
    expect(steps).to_be_hidden()
    expect(keep).to_be_hidden()
    page.get_by_label("Strategy").select_option("canary")
    expect(steps).to_be_visible()
    expect(page.get_by_label("Health gate (seconds)")).to_be_visible()
    expect(keep).to_be_hidden()
    page.get_by_label("Strategy").select_option("blue_green")
    expect(steps).to_be_hidden()
    expect(keep).to_be_visible()
    assert page.console_errors == []


def test_before_the_script_has_loaded_next_leads_from_the_application_to_its_releases(page, asgi_server, world):
    """Whoever picks an application before deploy-form.js has run gets the chooser's Next button, which
    stays once the script runs (picking the same again would be no change) and does what choosing does."""
    make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    sign_in(page, asgi_server, world.user("developer").email)
    held = []
    page.route("**/deploy-form*.js", lambda route: held.append(route))
    page.goto(f"{asgi_server}/t/acme/deployments/new/", wait_until="commit")
    page.get_by_label("Application").select_option(label="shop")
    expect(page.get_by_label("Release")).to_have_count(0)  # nothing happens on its own
    wait_for(lambda: held, timeout=10)
    held[0].continue_()  # the script arrives
    page.wait_for_load_state("load")  # after the deferred script has run
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#deploy-application")).to_have_text("shop")
    expect(page.get_by_label("Release")).to_have_count(1)
