"""After a blue-green switch back, the application page and the deployment page say, without a reload,
the colour and release the Service routes to, read from the cluster (issue 14: they kept saying the
newer release was live). Real browser, worker and sandbox cluster."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from apps.deployments.models import Deployment
from apps.deployments.services import deployment_switch_back, strategy_deploy
from apps.deployments.strategies.plan import strategy_plan
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _blue_green(world, release, keep_seconds=300):
    plan = strategy_plan(strategy="blue_green", application=release.application, keep_seconds=keep_seconds)
    deployment, _ = strategy_deploy(
        actor=world.principal("developer"),
        release=release,
        environment=world.acme.environments.get(name="dev"),
        plan=plan,
    )
    return wait_for(lambda: Deployment.objects.filter(pk=deployment.pk, state="succeeded").first(), timeout=40)


def test_the_pages_follow_a_switch_back_to_the_release_the_service_routes_to(
    page, asgi_server, world, sandbox, celery_worker
):
    registered(world, sandbox)
    app = make_app(world.acme)
    first, second = make_release(app), make_release(app, image="registry.example/web:2.0")
    # In a thread of its own: broadcasting after commit cannot run beside Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_blue_green, world, first).result()
        green = pool.submit(_blue_green, world, second).result()

    sign_in(page, asgi_server, world.user("developer").email)
    app_page, app_errors = page.context.new_page(), []
    app_page.on("console", lambda msg: app_errors.append(msg.text) if msg.type == "error" else None)
    app_page.goto(f"{asgi_server}/t/acme/apps/web/")
    page.goto(f"{asgi_server}/t/acme/deployments/{green.pk}/")
    slot = f"tr[data-slot='{app.pk}:{green.environment_id}'] [data-field='serving']"
    expect(app_page.locator(slot)).to_have_text("Release #2 (green), 2 of 2 replicas ready")
    expect(page.locator("#deployment-serving")).to_contain_text("Release #2 (green), 2 of 2 replicas ready")
    expect(app_page.locator("#latest-deployments-status")).to_have_text("· live")

    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            deployment_switch_back, actor=world.principal("developer"), deployment=green, reason="errors"
        ).result()
    expect(app_page.locator(slot)).to_have_text("Release #1 (blue), 2 of 2 replicas ready", timeout=20000)
    expect(page.locator("#deployment-serving")).to_contain_text(
        "Release #1 (blue), 2 of 2 replicas ready", timeout=20000
    )
    expect(page.locator("#blue-green-colour")).to_contain_text("traffic was switched back to the other colour")
    assert page.console_errors == [] and app_errors == []
