"""The developer console in Chromium: rotate a key (the new one shown once), then open the API docs
without console errors under the strict CSP."""

import re

import pytest
from playwright.sync_api import expect

from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_create

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_rotate_a_key_in_the_console_and_open_the_api_docs(page, asgi_server, world):
    old, _ = apikey_create(
        actor=world.principal("developer"), tenant=world.acme, name="ci pipeline", scopes=["apps:read"]
    )
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, asgi_server, world.user("developer").email)
    page.wait_for_url(f"{asgi_server}/**")
    page.goto(f"{asgi_server}/console/")
    row = page.locator(f'#console-keys tr[data-key="{old.pk}"]')
    expect(row).to_contain_text("ci pipeline")
    expect(page.locator("#quick-start")).to_contain_text("/api/v1/applications/?tenant=acme")

    row.get_by_label("Overlap in hours for ci pipeline").fill("2")
    row.get_by_role("button", name="Rotate ci pipeline").click()
    expect(page.locator("#key-shown-once")).to_contain_text("rotated")
    plaintext = page.locator("#plaintext-key").input_value()
    assert re.fullmatch(r"pk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+", plaintext)
    successor = APIKey.objects.get(rotated_from=old)
    assert plaintext.startswith(successor.prefix)

    page.get_by_role("link", name="I have copied it").click()
    page.wait_for_url(re.compile(r"/console/\?tenant=acme$"))
    expect(page.locator(f'#console-keys tr[data-key="{successor.pk}"]')).to_contain_text("active")
    assert plaintext not in page.content()

    page.locator("#open-api-docs").click()
    page.wait_for_url(f"{asgi_server}/api/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("PaaS Portal API", timeout=15000)
    expect(page.locator(".swagger-ui .btn.authorize")).to_be_visible()
    assert page.console_errors == []
