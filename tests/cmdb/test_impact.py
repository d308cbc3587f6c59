"""Impact analysis: one recursive CTE, cycle-safe, depth-limited, shortest path first, and never
beyond the tenant's items plus platform items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.cmdb.selectors import blast_radius, impact
from tests.deployments.conftest import make_app, make_release

from .conftest import make_edge, make_item

pytestmark = pytest.mark.django_db


def chain(tenant, names):
    return {name: make_item(tenant, name) for name in names}


def reached(start, **kwargs):
    return {r.item_id: (r.depth, r.path) for r in impact(start.pk, **kwargs)}


def test_a_cycle_is_walked_once(world):
    i = chain(world.acme, "abc")
    make_edge(i["a"], i["b"])
    make_edge(i["b"], i["c"])
    make_edge(i["c"], i["a"])
    up = reached(i["a"], direction="upstream")
    assert up == {i["b"].pk: (1, [i["a"].pk, i["b"].pk]), i["c"].pk: (2, [i["a"].pk, i["b"].pk, i["c"].pk])}
    down = reached(i["a"], direction="downstream")
    assert down == {i["c"].pk: (1, [i["a"].pk, i["c"].pk]), i["b"].pk: (2, [i["a"].pk, i["c"].pk, i["b"].pk])}


def test_a_diamond_reports_each_item_once_at_its_shortest_depth(world):
    i = chain(world.acme, "abcde")
    # a relies on b and c, both rely on d; d relies on e. Also a relies on d directly through a longer way.
    make_edge(i["a"], i["b"])
    make_edge(i["a"], i["c"])
    make_edge(i["b"], i["d"])
    make_edge(i["c"], i["d"])
    make_edge(i["d"], i["e"])
    make_edge(i["b"], i["d"], kind="connects_to")  # a second edge between the same pair changes nothing
    up = reached(i["a"], direction="upstream")
    assert set(up) == {i["b"].pk, i["c"].pk, i["d"].pk, i["e"].pk}
    assert up[i["d"].pk] == (2, [i["a"].pk, i["b"].pk, i["d"].pk])  # b before c: lowest path first
    assert up[i["e"].pk][0] == 3
    # What breaks when d changes: b and c, then a.
    down = reached(i["d"], direction="downstream")
    assert {k: v[0] for k, v in down.items()} == {i["b"].pk: 1, i["c"].pk: 1, i["a"].pk: 2}


def test_depth_limits_the_walk(world):
    names = [f"n{n}" for n in range(10)]
    i = chain(world.acme, names)
    for left, right in zip(names, names[1:], strict=False):
        make_edge(i[left], i[right])
    assert len(reached(i["n0"], direction="upstream", depth=3)) == 3
    assert len(reached(i["n0"], direction="upstream", depth=6)) == 6
    assert reached(i["n0"], direction="upstream", depth=6)[i["n6"].pk][1] == [i[n].pk for n in names[:7]]


def test_retired_edges_are_not_walked(world):
    a, b = make_item(world.acme), make_item(world.acme)
    make_edge(a, b, status="retired")
    assert reached(a, direction="upstream") == {}


def test_a_tenants_walk_never_leaves_its_items(world):
    node = make_item(None, "node-1", type_slug="node")
    mine, theirs = make_item(world.acme, type_slug="workload"), make_item(world.globex, type_slug="workload")
    make_edge(mine, node, kind="runs_on")
    make_edge(theirs, node, kind="runs_on")
    assert set(reached(node, direction="downstream", tenant_ids=[world.acme.pk], platform=True)) == {mine.pk}
    assert set(reached(node, direction="downstream")) == {mine.pk, theirs.pk}  # the platform's own view
    # Without the platform (every tenant member), the walk never enters the node.
    assert reached(mine, direction="upstream", tenant_ids=[world.acme.pk]) == {}
    assert set(reached(mine, direction="upstream", tenant_ids=[world.acme.pk], platform=True)) == {node.pk}


def test_impact_is_one_query(world):
    i = chain(world.acme, "abcd")
    make_edge(i["a"], i["b"])
    make_edge(i["b"], i["c"])
    with CaptureQueriesContext(connection) as queries:
        impact(i["a"].pk, direction="upstream", depth=6, tenant_ids=[world.acme.pk])
    assert len(queries) == 1 and "WITH RECURSIVE" in queries[0]["sql"]


def test_blast_radius_of_a_production_change(world):
    from apps.deployments.models import Deployment

    release = make_release(make_app(world.acme, "shop"))
    prod = world.acme.environments.get(name="prod")
    Deployment.objects.create(
        tenant=world.acme, application=release.application, release=release, environment=prod, state="succeeded"
    )
    checkout = make_item(world.acme, "checkout", type_slug="application")
    from apps.cmdb.models import ConfigurationItem

    workload = ConfigurationItem.objects.get(key="ns/acme--prod/workload/shop")
    make_edge(checkout, workload)
    radius = blast_radius(application=release.application, environment=prod)
    assert radius["item"]["id"] == workload.pk
    assert [(r["name"], r["path_names"]) for r in radius["downstream"]] == [
        ("checkout", ["acme--prod/shop", "checkout"])
    ]
    assert {r["type"] for r in radius["upstream"]} == {"application", "namespace"}
    import json

    json.dumps(radius)


def test_blast_radius_never_lists_the_applications_other_environments(world):
    """The dev workload is part of the same application as the prod one, but relies on nothing of
    prod; neither it nor what relies on it is affected by a production change. Whoever relies on the
    application itself still is."""
    from apps.cmdb.models import ConfigurationItem
    from apps.deployments.models import Deployment

    release = make_release(make_app(world.acme, "shop"))
    for name in ("dev", "prod"):
        Deployment.objects.create(
            tenant=world.acme,
            application=release.application,
            release=release,
            environment=world.acme.environments.get(name=name),
            state="succeeded",
        )
    dev_workload = ConfigurationItem.objects.get(key="ns/acme--dev/workload/shop")
    make_edge(make_item(world.acme, "scratch-demo", type_slug="application"), dev_workload)
    application = ConfigurationItem.objects.get(tenant=world.acme, ci_type__slug="application", name="shop")
    make_edge(make_item(world.acme, "checkout", type_slug="application"), application)

    radius = blast_radius(application=release.application, environment=world.acme.environments.get(name="prod"))
    assert [(r["name"], r["path_names"]) for r in radius["downstream"]] == [
        ("checkout", ["acme--prod/shop", "shop", "checkout"])
    ]
