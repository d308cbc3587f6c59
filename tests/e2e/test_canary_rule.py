"""A matching canary's deployment page says which traffic rule is live and redraws it as the canary
moves on and when it is promoted (real worker, ASGI server and sandbox cluster)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from apps.deployments.models import Deployment
from apps.deployments.services import deployment_continue, deployment_create, strategy_deploy
from apps.deployments.strategies.plan import strategy_plan
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(call, **kwargs):
    # Broadcasting after commit cannot run beside Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, **kwargs).result()


def _waiting_at(pk: int, step: int) -> Deployment:
    return wait_for(lambda: Deployment.objects.filter(pk=pk, step=step, waiting=True).first(), timeout=30)


def test_the_live_rule_follows_the_canary_and_goes_with_the_promotion(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    app = make_app(world.acme, "shop")
    dev = world.acme.environments.get(name="dev")
    first = make_release(app, image="registry.example/shop:1.0", ingress_host="shop.acme.example")
    stable, _ = in_thread(deployment_create, actor=world.principal("developer"), release=first, environment=dev)
    wait_for(lambda: Deployment.objects.get(pk=stable.pk).state == "succeeded", timeout=30)

    second = make_release(app, image="registry.example/shop:2.0", ingress_host="shop.acme.example")
    plan = strategy_plan(
        strategy="canary",
        application=app,
        steps=[0, 50, 100],
        match_header={"name": "X-Canary", "value": "always"},
        release=second,
    )
    canary, _ = in_thread(
        strategy_deploy, actor=world.principal("developer"), release=second, environment=dev, plan=plan
    )
    row = _waiting_at(canary.pk, 1)
    sign_in(page, asgi_server, world.user("developer").email)
    page.goto(f"{asgi_server}/t/acme/deployments/{canary.pk}/")
    rule = page.locator("#canary-rule")
    expect(rule).to_be_visible()
    expect(rule).to_contain_text("requests with header X-Canary: always, and 0% of the other requests")

    in_thread(deployment_continue, actor=world.principal("developer"), deployment=row)
    _waiting_at(canary.pk, 2)
    expect(rule).to_contain_text("and 50% of the other requests", timeout=20000)  # redrawn from the API

    in_thread(deployment_continue, actor=world.principal("developer"), deployment=Deployment.objects.get(pk=row.pk))
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=40000)
    expect(rule).to_be_hidden(timeout=20000)
    assert page.console_errors == []
