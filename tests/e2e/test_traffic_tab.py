"""The Traffic tab: a developer adds a route (a refused one first), sees it applied to the sandbox
cluster by the worker, changes its rate limit and deletes it (real worker, ASGI server, Chromium)."""

import pytest
from playwright.sync_api import expect

from apps.clusters.kube import KubeClient
from apps.traffic.models import Route
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _applied(page, row):
    """Reload until the worker has applied the route (the page shows the row as stored)."""
    for _ in range(30):
        if "Applied" in row.locator(".route-state").inner_text():
            return True
        page.wait_for_timeout(500)
        page.reload()
    return False


def test_add_change_and_delete_a_route_from_the_traffic_tab(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    make_release(make_app(world.acme, "shop"))
    kube = KubeClient(sandbox.api_client())
    namespace = world.acme.environments.get(name="dev").namespace
    sign_in(page, asgi_server, world.user("developer").email)

    page.goto(f"{asgi_server}/t/acme/apps/shop/")
    page.locator("#traffic-tab").click()
    expect(page.locator("#application-tabs .nav-link.active")).to_have_text("Traffic")

    # A host that is not a DNS name: refused on the field, the other input kept, nothing stored.
    form = page.locator("#add-route")
    form.get_by_label("Host", exact=True).fill("not a host")
    form.get_by_label("Path", exact=True).fill("/api")
    page.locator("#add-route-submit").click()
    expect(page.locator("#route-refused")).to_be_visible()
    expect(page.locator("#add-route .invalid-feedback").first).to_contain_text("not a DNS host name")
    expect(page.locator("#add-route").get_by_label("Path", exact=True)).to_have_value("/api")
    assert not Route.objects.exists()

    page.locator("#add-route").get_by_label("Host", exact=True).fill("shop.acme-corp.com")
    page.locator("#add-route-submit").click()
    row = page.locator('[data-environment="dev"] tr[data-route]')
    expect(row).to_contain_text("shop.acme-corp.com/api")
    assert _applied(page, row)
    ingress = wait_for(lambda: kube.get("networking.k8s.io/v1", "Ingress", "shop", namespace))
    assert ingress["spec"]["rules"][0]["host"] == "shop.acme-corp.com"

    row.get_by_role("link", name="Edit").click()
    page.locator("details summary", has_text="TLS, timeouts").click()
    page.get_by_label("Requests per second").fill("20")
    page.get_by_role("button", name="Save route").click()
    expect(row).to_contain_text("20 req/s per client")
    wait_for(
        lambda: (
            (kube.get("networking.k8s.io/v1", "Ingress", "shop", namespace)["metadata"]["annotations"]).get(
                "nginx.ingress.kubernetes.io/limit-rps"
            )
            == "20"
        ),
        timeout=30,
    )

    row.locator("summary", has_text="Delete").click()
    row.get_by_role("button", name="Delete route").click()
    expect(page.locator('[data-environment="dev"]')).to_contain_text("No route reaches shop in dev")
    wait_for(lambda: kube.get("networking.k8s.io/v1", "Ingress", "shop", namespace) is None, timeout=30)
    # the refused submission's page is a 400 (the browser logs that status); nothing else went wrong
    assert [error for error in page.console_errors if "status of 400" not in error] == []
