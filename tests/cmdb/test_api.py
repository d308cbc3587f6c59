"""The CMDB API beyond the generic isolation suite: types, impact, graph (JSON and DOT), history
and search, each a 404 for another tenant's item."""

import pytest
from django.urls import reverse

from apps.cmdb.models import CIType

from .conftest import make_edge, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(world):
    """shop -> orders-db -> node-1 (platform); a globex item on the same node."""
    shop = make_item(world.acme, "shop", type_slug="application", labels={"tier": "gold"})
    db = make_item(world.acme, "orders-db", declared_attributes={"engine": "postgres", "replicas": 3})
    node = make_item(None, "node-1", type_slug="node")
    make_edge(shop, db)
    make_edge(db, node, kind="runs_on", provenance="observed")
    make_edge(make_item(world.globex, "theirs"), node, kind="runs_on")
    return {"shop": shop, "db": db, "node": node}


def item_url(name, item, *suffix):
    return reverse(f"cmdb-item-{name}", args=[item.pk, *suffix])


def test_types_are_read_by_everyone_and_written_by_operators(world, api):
    api.as_user(world.user("viewer"))
    response = api.get(reverse("cmdb-type-list"))
    assert response.status_code == 200 and "database" in {t["slug"] for t in response.json()}
    assert api.post(reverse("operator-cmdb-type-list"), {"slug": "x", "name": "X"}, format="json").status_code == 403
    api.as_user(world.operator)
    response = api.post(
        reverse("operator-cmdb-type-list"),
        {"slug": "firewall", "name": "Firewall", "attribute_schema": {"type": "object"}},
        format="json",
    )
    assert response.status_code == 201
    response = api.patch(
        reverse("operator-cmdb-type-detail", args=["firewall"]),
        {"attribute_schema": {"type": "object", "required": ["vendor"]}},
        format="json",
    )
    assert response.status_code == 200 and CIType.objects.get(slug="firewall").attribute_schema["required"]


def test_impact_endpoint(world, api, graph):
    api.as_user(world.user("viewer"))
    response = api.get(item_url("impact", graph["db"]), {"direction": "downstream", "depth": 6})
    assert response.status_code == 200
    body = response.json()
    assert [(i["name"], i["depth"], i["path_names"]) for i in body["items"]] == [("shop", 1, ["orders-db", "shop"])]
    up = api.get(item_url("impact", graph["shop"]), {"direction": "upstream"}).json()
    assert [i["name"] for i in up["items"]] == ["orders-db"]  # node-1 is the platform's
    assert api.get(item_url("impact", graph["shop"]), {"direction": "sideways"}).status_code == 400
    assert api.get(item_url("impact", graph["shop"]), {"depth": "99"}).json()["fields"] == {
        "depth": ["Give depth as a whole number from 1 to 10."]
    }


def test_graph_and_dot_export(world, api, graph):
    api.as_user(world.user("viewer"))
    body = api.get(item_url("graph", graph["db"])).json()
    assert {n["name"] for n in body["nodes"]} == {"shop", "orders-db"}
    assert {(e["source"], e["target"]) for e in body["edges"]} == {(graph["shop"].pk, graph["db"].pk)}
    filtered = api.get(item_url("graph", graph["db"]), {"type": "database", "provenance": "declared"}).json()
    assert [n["name"] for n in filtered["nodes"]] == ["orders-db"]
    dot = api.get(item_url("graph-dot", graph["db"]))
    assert dot.status_code == 200 and dot["Content-Type"].startswith("text/vnd.graphviz")
    text = dot.content.decode()
    assert text.startswith("digraph cmdb {") and f"n{graph['shop'].pk} -> n{graph['db'].pk}" in text


def test_item_actions_are_404_for_another_tenant(world, api, graph):
    api.as_user(world.outsider)
    for name in ("impact", "graph", "graph-dot", "history"):
        assert api.get(item_url(name, graph["db"])).status_code == 404, name
    # The shared node is the platform's: not theirs to see, even through their own edge.
    assert api.get(item_url("impact", graph["node"]), {"direction": "downstream"}).status_code == 404


def test_search_by_name_type_label_and_attribute(world, api, graph):
    api.as_user(world.user("viewer"))

    def names(**params):
        return {i["name"] for i in api.get(reverse("cmdb-item-list"), params).json()["results"]}

    assert names(q="orders") == {"orders-db"}
    assert names(type="application") == {"shop"}
    assert names(label="tier=gold") == {"shop"}
    assert names(attribute="engine=postgres") == {"orders-db"}
    assert names(attribute="replicas=3") == {"orders-db"}
    assert names(platform="true") == set()  # platform items are operators' only


def test_history_of_an_item(world, api):
    api.as_user(world.user("developer"))
    created = api.post(reverse("cmdb-item-list"), {"tenant": "acme", "type": "database", "name": "db"}, format="json")
    item_id = created.json()["id"]
    api.patch(reverse("cmdb-item-detail", args=[item_id]), {"labels": {"tier": "gold"}}, format="json")
    history = api.get(reverse("cmdb-item-history", args=[item_id])).json()["results"]
    assert [h["action"] for h in history] == ["update", "create"]
    assert history[0]["before"] == {"labels": {}} and history[0]["after"] == {"labels": {"tier": "gold"}}


def test_bad_input_is_refused_with_codes(world, api):
    api.as_user(world.user("developer"))
    response = api.post(
        reverse("cmdb-item-list"),
        {"tenant": "acme", "type": "database", "name": "db", "attributes": {"engine": 1}},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "schema_violation"
    assert "attributes" in response.json()["fields"]
    mine = make_item(world.acme)
    response = api.post(
        reverse("cmdb-relationship-list"),
        {"tenant": "acme", "source": mine.pk, "kind": "depends_on", "target": mine.pk},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "self_relation"
    theirs = make_item(world.globex)
    response = api.post(
        reverse("cmdb-relationship-list"),
        {"tenant": "acme", "source": mine.pk, "kind": "depends_on", "target": theirs.pk},
        format="json",
    )
    assert response.status_code == 400 and "target" in response.json()["fields"]  # unknown to acme's members
