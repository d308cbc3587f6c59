"""The dependency map in Chromium: Cytoscape draws the items around a CI under the strict CSP, the
filters redraw it, and a click on an item opens that item's page. The address carries the filters both
ways, and a hub's fifty neighbours are laid out in groups whose names do not collide (issue 16, item 13)."""

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
    assert page.evaluate("window.cmdbMap.nodes('.item').map((n) => n.data('label').split('\\n')[0]).sort()") == [
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


# Every label's box on the map, in model coordinates, with the pairs whose boxes intersect.
OVERLAPS = """() => {
  const boxes = window.cmdbMap.nodes().map((n) => ({ label: n.data("label"),
    box: n.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true }) }));
  const hit = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
  const pairs = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => { if (hit(a.box, b.box)) pairs.push([a.label, b.label]); }));
  return { labels: boxes.length, pairs };
}"""


def hub(world):
    """A hub with 50 items around it: 8 that rely on it, 36 it relies on, and a chain five hops long."""
    checkout = make_item(world.acme, "checkout", type_slug="application")
    for n in range(8):
        make_edge(make_item(world.acme, f"storefront-web-{n:02}", type_slug="application"), checkout)
    kinds = ["database", "cache", "queue", "service"]
    for n in range(36):
        kind = kinds[n % 4]
        make_edge(checkout, make_item(world.acme, f"checkout-{kind}-eu-west-{n:02}", type_slug=kind))
    chain = [checkout] + [make_item(world.acme, f"ledger-hop-{hop}", type_slug="service") for hop in range(1, 6)]
    for source, target in zip(chain, chain[1:], strict=False):
        make_edge(source, target)
    return checkout


def test_a_hub_of_fifty_honours_the_address_and_keeps_its_labels_apart(page, asgi_server, world):
    checkout = hub(world)
    sign_in(page, asgi_server, world.user("viewer").email)
    page.wait_for_url(f"{asgi_server}/**")

    # depth=4 from the address: the chain shows to its fourth hop and not its fifth.
    page.goto(f"{asgi_server}/t/acme/cmdb/{checkout.pk}/map/?depth=4")
    container = page.locator("#cmdb-map")
    expect(container).to_have_attribute("data-rendered-nodes", str(1 + 8 + 36 + 4))
    expect(page.locator("#map-depth")).to_have_value("4")
    names = page.evaluate("window.cmdbMap.nodes('.item').map((n) => n.data('label'))")
    assert "ledger-hop-4" in names and "ledger-hop-5" not in names
    assert page.locator("#export-json").get_attribute("href").endswith("?depth=4")

    # Grouped by side and type, with no two labels on top of each other, at a size that can be read.
    groups = page.evaluate("window.cmdbMap.nodes('.group').map((n) => n.data('label')).sort()")
    assert groups == ["Application (8)", "Cache (9)", "Database (9)", "Queue (9)", "Service (13)"]
    overlaps = page.evaluate(OVERLAPS)
    assert overlaps["labels"] == 49 + 5 and overlaps["pairs"] == []
    assert page.evaluate("window.cmdbMap.zoom()") >= 0.5

    # The other filters come from the address too, and a change of the form is written back to it.
    page.goto(f"{asgi_server}/t/acme/cmdb/{checkout.pk}/map/?depth=1&type=application&type=database")
    expect(container).to_have_attribute("data-rendered-nodes", str(1 + 8 + 9))
    expect(page.locator("input[name=type][value=database]")).to_be_checked()
    expect(page.locator("input[name=type][value=cache]")).not_to_be_checked()
    page.locator("#map-depth").select_option("3")
    expect(container).to_have_attribute("data-depth", "3")
    assert page.url.endswith("?depth=3&type=application&type=database")
    assert page.evaluate(OVERLAPS)["pairs"] == []
    assert page.console_errors == []
