"""The dependency map in Chromium: Cytoscape draws the items around a CI under the strict CSP, the
filters redraw it, and a click on an item opens that item's page."""

import pytest
from playwright.sync_api import expect

from tests.cmdb.conftest import make_edge, make_item

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_map_draws_nodes_and_clicks_through(page, asgi_server, world):
    shop = make_item(world.acme, "shop", type_slug="application")
    db = make_item(world.acme, "orders-db")
    payments = make_item(world.acme, "payments API", type_slug="external-service")
    make_edge(shop, db)
    make_edge(shop, payments)
    make_item(world.globex, "not-ours")
    sign_in(page, asgi_server, world.user("viewer").email)
    page.wait_for_url(f"{asgi_server}/**")

    page.goto(f"{asgi_server}/t/acme/cmdb/{shop.pk}/")
    page.locator("#open-map").click()
    container = page.locator("#cmdb-map")
    expect(container).to_have_attribute("data-rendered-nodes", "3")
    assert page.evaluate("window.cmdbMap.nodes().map((n) => n.data('label').split('\\n')[0]).sort()") == [
        "orders-db",
        "payments API",
        "shop",
    ]
    assert page.locator("#cmdb-map canvas").count() > 0

    # Filter by type: only applications (the centre stays).
    page.locator("input[name=type][value=database]").uncheck()
    expect(container).to_have_attribute("data-rendered-nodes", "2")
    page.locator("input[name=type][value=database]").check()
    expect(container).to_have_attribute("data-rendered-nodes", "3")

    # Click the orders-db node on the canvas: its page opens.
    box = container.bounding_box()
    position = page.evaluate(f"window.cmdbMap.getElementById('{db.pk}').renderedPosition()")
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])
    page.wait_for_url(f"{asgi_server}/t/acme/cmdb/{db.pk}/")
    expect(page.locator("#item-name")).to_have_text("orders-db")
    assert page.console_errors == []
