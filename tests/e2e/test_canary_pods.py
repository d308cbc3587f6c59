"""A canary's deployment page: the Pods table lists pods (names, states from apps/deployments/pods.py),
drops the canary's pods once it is promoted, and the events drawn live read their times the way the
server draws them (real worker, ASGI server and sandbox cluster)."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create, strategy_deploy
from apps.deployments.strategies.plan import strategy_plan
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

STATES = {"ready", "starting", "terminating", "image pull error", "crash loop"}


def in_thread(call, **kwargs):
    # Broadcasting after commit cannot run beside Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, **kwargs).result()


def test_canary_pods_table_forgets_the_canary_after_promotion(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    app = make_app(world.acme, "shop")
    dev = world.acme.environments.get(name="dev")
    first = make_release(app, image="registry.example/shop:1.0")
    stable, _ = in_thread(deployment_create, actor=world.principal("developer"), release=first, environment=dev)
    wait_for(lambda: Deployment.objects.get(pk=stable.pk).state == "succeeded", timeout=30)

    second = make_release(app, image="registry.example/shop:2.0")
    plan = strategy_plan(strategy="canary", application=app, steps=[50, 100], gate_seconds=3)
    canary, _ = in_thread(
        strategy_deploy, actor=world.principal("developer"), release=second, environment=dev, plan=plan
    )
    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/deployments/{canary.pk}/")
    rows = page.locator("#pods tbody tr[data-pod]")
    expect(page.locator("#pods tbody tr[data-pod] code").filter(has_text="shop-canary-")).not_to_have_count(
        0, timeout=20000
    )
    for name, state in zip(
        rows.locator("td:first-child").all_inner_texts(), rows.locator(".badge").all_inner_texts(), strict=True
    ):
        assert name.startswith("shop-") and state in STATES, (name, state)

    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=40000)
    # Promoted: the stable Deployment runs release #2 and the canary is gone, pods included.
    expect(rows).to_have_count(second.replicas, timeout=20000)
    expect(page.locator("#pods tbody tr[data-pod] code").filter(has_text="canary")).to_have_count(0)
    expect(rows.locator(".badge:text-is('ready')")).to_have_count(second.replicas, timeout=20000)

    # Rows appended live read like the rows the server drew: HH:MM:SS, in UTC like the column says.
    times = page.locator("#events tbody time").all_inner_texts()
    assert len(times) > 3 and all(re.fullmatch(r"\d\d:\d\d:\d\d", t) for t in times), times
    page.reload()
    assert page.locator("#events tbody time").all_inner_texts() == times
    assert page.console_errors == []
