"""A crash-looping release deployed from the browser fails and rolls back on its own: the admin turns
automatic rollback on for dev, deploys, and the page shows the failure and the rollback as they
happen, without reloading (real worker, real sandbox cluster)."""

import re

import pytest
from playwright.sync_api import expect

from apps.deployments.choices import TERMINAL, State
from apps.deployments.models import Deployment
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_options():
    return {"ready_after": 0.5}


def deploy_from_the_ui(page, server, release, deadline=None):
    page.goto(f"{server}/t/acme/deployments/new/")
    page.get_by_label("Application").select_option(label=release.application.name)
    page.get_by_label("Release").select_option(value=str(release.pk))
    page.get_by_label("Environment").select_option(label="dev (non-production)")
    if deadline:
        page.get_by_label("Progress deadline (seconds)").fill(str(deadline))
    page.get_by_role("button", name="Preview manifests").click()
    page.get_by_role("button", name="Confirm and deploy").click()
    expect(page).to_have_url(re.compile(r"/t/acme/deployments/\d+/$"))


def test_a_crash_looping_release_fails_and_rolls_back_live(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    app = make_app(world.acme, "shop")
    good = make_release(app, image="registry.example/shop:1.0")
    crashing = make_release(app, image="registry.example/shop:crash")
    sign_in(page, asgi_server, world.user("admin").email)
    deploy_from_the_ui(page, asgi_server, good)
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)

    page.goto(f"{asgi_server}/t/acme/deployments/")
    page.get_by_role("link", name="Deploy settings").click()
    page.get_by_label("Roll back automatically in dev").check()
    page.locator("tr[data-environment='dev']").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Automatic rollback is on in dev.")).to_be_visible()

    deploy_from_the_ui(page, asgi_server, crashing, deadline=3)
    page.evaluate("window.stillTheSamePage = true")

    expect(page.locator("#deployment-state .badge")).to_have_text("Failed", timeout=30000)
    expect(page.locator("#events")).to_contain_text("Rolling back automatically to release #1", timeout=10000)
    assert page.evaluate("window.stillTheSamePage") is True  # it moved without a reload

    failed = Deployment.objects.get(release=crashing)
    rollback = wait_for(lambda: Deployment.objects.filter(rollback_of=failed, state__in=TERMINAL).first(), timeout=30)
    assert rollback.state == State.SUCCEEDED and rollback.release == good
    page.reload()
    expect(page.locator("#events")).to_contain_text(f"(deployment {rollback.pk})")
    assert page.console_errors == []
