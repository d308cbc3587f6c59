"""Tenant members never see platform inventory (issue 12, item 13): not the cluster item with its
API URL, not the nodes, not kube-system or other unowned namespaces, through search, graph, DOT,
impact, relationships, pages or a change request's blast radius, and not as a step on a path
between two of their own items. Operators, signed in themselves, do see it."""

import json

import pytest
from django.urls import reverse

from apps.cmdb.discovery import discover
from apps.cmdb.models import ConfigurationItem, Relationship
from apps.cmdb.selectors import blast_radius
from tests.deployments.conftest import make_app, make_release

from .conftest import make_edge, make_item
from .test_discovery import cluster  # noqa: F401  (the sandbox cluster with acme, globex and tools)

pytestmark = pytest.mark.django_db


def platform_items():
    return list(ConfigurationItem.objects.filter(tenant__isnull=True))


def assert_no_platform(response, platform, sandbox_url: str):
    """No platform item, by id or name, and not the cluster's API URL, in a graph, DOT or impact."""
    text = response.content.decode()
    assert sandbox_url not in text and "api_url" not in text
    ids = {item.pk for item in platform}
    if response["Content-Type"].startswith("text/vnd.graphviz"):
        shown = {int(token[1:]) for token in text.replace(";", " ").split() if token[1:].isdigit()}
    else:
        body = response.json()
        shown = {node["id"] for node in body.get("nodes", [])} | {entry["id"] for entry in body.get("items", [])}
        shown |= {step for entry in body.get("items", []) for step in entry["path"]}
        shown |= {end for edge in body.get("edges", []) for end in (edge["source"], edge["target"])}
    assert not shown & ids, [item.name for item in platform if item.pk in shown]
    assert not any(f'"{item.name}"' in text for item in platform if item.name not in ("default",))


def test_members_see_no_platform_inventory_after_discovery(world, api, cluster):  # noqa: F811
    discover(cluster)
    platform = platform_items()
    assert {item.ci_type.slug for item in platform} >= {"cluster", "node"}  # discovery saw them
    assert any(item.discovered_attributes.get("api_url") for item in platform)
    api.as_user(world.user("viewer"))
    listed = api.get(reverse("cmdb-item-list"), {"page_size": 100}).json()["results"]
    assert listed and all(entry["tenant"] == "acme" for entry in listed)
    assert api.get(reverse("cmdb-item-list"), {"platform": "true"}).json()["results"] == []
    for item in platform:
        for name in ("detail", "impact", "graph", "graph-dot", "history"):
            url = reverse(f"cmdb-item-{name}", args=[item.pk])
            assert api.get(url).status_code == 404, (name, item)
    for entry in listed:
        impact = reverse("cmdb-item-impact", args=[entry["id"]])
        for url, params in (
            (reverse("cmdb-item-graph", args=[entry["id"]]), {"depth": 10}),
            (reverse("cmdb-item-graph-dot", args=[entry["id"]]), {"depth": 10}),
            (impact, {"direction": "upstream", "depth": 10}),
            (impact, {"direction": "downstream", "depth": 10}),
        ):
            response = api.get(url, params)
            assert response.status_code == 200
            assert_no_platform(response, platform, cluster.api_url)
    edges = api.get(reverse("cmdb-relationship-list"), {"page_size": 100}).json()["results"]
    ends = {e["source"] for e in edges} | {e["target"] for e in edges}
    assert edges and not ends & {item.pk for item in platform}
    # The operator's own view still has them.
    api.as_user(world.operator)
    seen = {entry["key"] for entry in api.get(reverse("cmdb-item-list"), {"platform": "true"}).json()["results"]}
    assert {"k8s/sandbox", "k8s/sandbox/node/sandbox-node"} <= seen


def test_paths_through_a_platform_item_do_not_reach_or_name_it(world, api, client):
    a, b = make_item(world.acme, "a", type_slug="workload"), make_item(world.acme, "b", type_slug="workload")
    node = make_item(None, "node-secret", type_slug="node")
    make_edge(a, node, kind="runs_on")
    make_edge(node, b, kind="depends_on")  # a -> node -> b: b is two hops from a only through the node
    api.as_user(world.user("viewer"))
    for direction, start in (("upstream", a), ("downstream", b)):
        body = api.get(reverse("cmdb-item-impact", args=[start.pk]), {"direction": direction}).json()
        assert body["items"] == [], body
    graph = api.get(reverse("cmdb-item-graph", args=[a.pk]), {"depth": 4}).json()
    assert [n["name"] for n in graph["nodes"]] == ["a"] and graph["edges"] == []
    client.force_login(world.user("viewer"))
    page = client.get(reverse("cmdb:detail", kwargs={"tenant_slug": "acme", "pk": a.pk})).content.decode()
    assert "node-secret" not in page
    assert client.get(reverse("cmdb:detail", kwargs={"tenant_slug": "acme", "pk": node.pk})).status_code == 404


def test_a_change_requests_blast_radius_shows_only_the_tenants_items(world):
    from apps.deployments.models import Deployment

    release = make_release(make_app(world.acme, "shop"))
    prod = world.acme.environments.get(name="prod")
    Deployment.objects.create(
        tenant=world.acme, application=release.application, release=release, environment=prod, state="succeeded"
    )
    workload = ConfigurationItem.objects.get(tenant=world.acme, ci_type__slug="workload", name__endswith="shop")
    node, cluster_item = (
        make_item(None, "node-1", type_slug="node"),
        make_item(None, "prod-cluster", type_slug="cluster"),
    )
    checkout = make_item(world.acme, "checkout", type_slug="application")
    make_edge(workload, node, kind="runs_on")
    make_edge(node, cluster_item, kind="part_of")
    Relationship.objects.create(tenant=world.acme, source=checkout, target=node, kind="depends_on", origin="test")
    radius = blast_radius(application=release.application, environment=prod)
    text = json.dumps(radius)
    assert radius["item"]["id"] == workload.pk
    assert "node-1" not in text and "prod-cluster" not in text
    assert all(entry["tenant"] == "acme" for entry in radius["downstream"] + radius["upstream"])
