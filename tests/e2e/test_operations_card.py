"""The deployment page's operations: one justification box for every button, scale and remove from
it, and a removed application said as removed (real worker, ASGI server and sandbox cluster)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_options():
    return {"ready_after": 2.0}  # the page opens while the rollout is still under way


def test_one_justification_scale_and_remove(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    with ThreadPoolExecutor(1) as pool:  # broadcasting after commit cannot run beside Playwright's loop
        deployment, _ = pool.submit(
            deployment_create,
            actor=world.principal("developer"),
            release=release,
            environment=world.acme.environments.get(name="dev"),
        ).result()
    sign_in(page, asgi_server, world.user("owner").email)
    page.goto(f"{asgi_server}/t/acme/deployments/{deployment.pk}/")
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)

    # One justification (and one break-glass box for the owner), whatever the number of buttons.
    expect(page.locator("#operations #scale-button")).to_be_visible()
    expect(page.locator("#operations #restart-button")).to_be_visible()
    expect(page.locator("#operations #promote-button")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True, "drawn again once it succeeded, without a reload"
    expect(page.locator('input[name="justification"]')).to_have_count(1)
    expect(page.locator('#operations input[name="break_glass_reason"]')).to_have_count(1)

    page.locator("#scale-replicas").fill("3")
    page.locator("#operations-justification").fill("more traffic")
    page.locator("#scale-button").click()
    expect(page.locator(".alert").filter(has_text="3")).to_be_visible()
    expect(page.locator("#pods tbody tr[data-pod]")).to_have_count(3, timeout=20000)

    page.locator("#remove summary").click()
    page.locator("#remove-button").click()
    expect(page.locator("#removed-badge")).to_have_text("Removed")
    expect(page.locator("#removed")).to_contain_text("shop was removed from dev")
    expect(page.locator("#pods tbody tr[data-pod]")).to_have_count(0, timeout=20000)
    assert Deployment.objects.get(pk=deployment.pk).removed_at is not None
    assert page.console_errors == []
