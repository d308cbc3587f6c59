"""On a phone a tenant page opens on its content: the sections fold behind one button that opens them;
on a wide screen they stand beside the page."""

import pytest
from playwright.sync_api import expect

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_tenant_sections_fold_on_a_phone_and_stand_open_on_a_wide_screen(page, asgi_server, world):
    sign_in(page, asgi_server, world.user("developer").email)
    page.goto(f"{asgi_server}/t/acme/")
    expect(page.locator("#nav-deployments")).to_be_visible()
    expect(page.locator("#tenant-sections-toggle")).to_be_hidden()

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#nav-deployments")).to_be_hidden()
    expect(page.locator("#tenant-sections-toggle")).to_contain_text("Overview")  # where the page is
    page.locator("#tenant-sections-toggle").click()
    page.locator("#nav-deployments").click()
    expect(page).to_have_url(f"{asgi_server}/t/acme/deployments/")
    expect(page.locator("#tenant-sections-toggle")).to_contain_text("Deployments")
    assert page.console_errors == []
