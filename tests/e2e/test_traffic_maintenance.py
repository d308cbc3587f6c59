"""The Traffic tab's maintenance switch: a developer puts a route in maintenance with a message, sees the
page say so once the worker applied it (the Ingress now sends traffic to the maintenance server, which
the sandbox runs), and ends it again (real worker, ASGI server, Chromium)."""

import pytest
from playwright.sync_api import expect

from apps.clusters.kube import KubeClient
from apps.tenants.roles import Role
from apps.traffic import maintenance
from apps.traffic.services import route_create
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in
from .test_traffic_tab import _applied

pytestmark = pytest.mark.django_db(transaction=True)


def _backend(kube, namespace) -> str:
    ingress = kube.get("networking.k8s.io/v1", "Ingress", "shop", namespace) or {}
    paths = (ingress.get("spec") or {}).get("rules", [{}])[0].get("http", {}).get("paths") or [{}]
    return paths[0].get("backend", {}).get("service", {}).get("name", "")


def test_switch_a_route_to_maintenance_and_back_from_the_traffic_tab(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    shop = make_app(world.acme, "shop")
    make_release(shop)
    dev = world.acme.environments.get(name="dev")
    route = route_create(
        actor=world.principal(Role.DEVELOPER),
        tenant=world.acme,
        environment=dev,
        application=shop,
        host="shop.acme-corp.com",
    )
    kube = KubeClient(sandbox.api_client())
    sign_in(page, asgi_server, world.user("developer").email)
    page.goto(f"{asgi_server}/t/acme/apps/shop/traffic/")
    row = page.locator(f'tr[data-route="{route.pk}"]')
    assert _applied(page, row)
    expect(row.locator(".route-serving")).to_contain_text("shop")

    row.locator("summary", has_text="Maintenance").click()
    row.get_by_label("Message").fill("Upgrading the <database>")
    row.get_by_label("Retry-After (seconds)").fill("300")
    row.get_by_role("button", name="Switch to maintenance").click()
    expect(page.locator(".alert-success")).to_contain_text("Maintenance of shop.acme-corp.com/ switched")
    expect(row.locator(".route-serving")).to_contain_text("Maintenance page (503)")
    expect(row.locator(".route-serving")).to_contain_text("Upgrading the <database>")  # shown as text
    assert _applied(page, row)
    wait_for(lambda: _backend(kube, dev.namespace) == maintenance.SERVER_NAME, timeout=30)
    server = kube.get("apps/v1", "Deployment", maintenance.SERVER_NAME, dev.namespace)
    assert server is not None

    row.locator("summary", has_text="End maintenance").click()
    row.get_by_role("button", name="End maintenance").click()
    expect(row.locator(".route-serving")).not_to_contain_text("Maintenance page")
    assert _applied(page, row)
    wait_for(lambda: _backend(kube, dev.namespace) == "shop", timeout=30)
    wait_for(lambda: kube.get("apps/v1", "Deployment", maintenance.SERVER_NAME, dev.namespace) is None, timeout=30)
    assert page.console_errors == []
