"""Discovery against the sandbox cluster over HTTP with the official client: the expected items and
edges, idempotent on a second pass, removed objects stale then retired, never a cross-tenant edge,
and a number of SQL statements that does not grow with the cluster."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from apps.catalog.models import Application
from apps.clusters.kube import KubeClient
from apps.clusters.models import Cluster, Placement
from apps.cmdb.discovery import discover
from apps.cmdb.models import ChangeRecord, ConfigurationItem, Relationship
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def deployment(namespace, name, labels=None):
    selector = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, "tier": "web"}},
                "spec": {"containers": [{"name": name, "image": f"registry.example/{name}:1"}]},
            },
        },
    }


def service(namespace, name, selector):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def ingress(namespace, name, backend):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "rules": [
                {
                    "host": f"{name}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": backend, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


@pytest.fixture
def cluster(world, sandbox):
    cluster = Cluster.objects.create(name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    for tenant in (world.acme, world.globex):
        Placement.objects.create(environment=tenant.environments.get(name="dev"), cluster=cluster)
    kube = KubeClient(sandbox.api_client())
    kube.apply(
        [
            namespace("acme--dev"),
            namespace("globex--dev"),
            namespace("tools"),
            deployment("acme--dev", "shop", {"paas.dev/application": "shop"}),
            service("acme--dev", "shop", {"app": "shop"}),
            ingress("acme--dev", "shop", "shop"),
            deployment("globex--dev", "api"),
            service("globex--dev", "api", {"app": "api"}),
            deployment("tools", "agent"),
        ]
    )
    wait_for(lambda: len([p for p in kube.list("v1", "Pod")[0] if p["spec"].get("nodeName")]) == 3)
    cluster.kube = kube
    return cluster


def key(name):
    return ConfigurationItem.objects.select_related("tenant").get(key=name)


def edges_between(source, target):
    return set(Relationship.objects.filter(source=source, target=target).values_list("kind", "provenance"))


def test_discovery_records_what_runs_where(world, cluster):
    Application.objects.create(tenant=world.acme, name="shop")
    run = discover(cluster)
    assert run.error == "" and run.finished_at

    top, node = key("k8s/sandbox"), key("k8s/sandbox/node/sandbox-node")
    assert top.tenant is None and node.tenant is None and node.ci_type.slug == "node"
    workload, svc, ing = (
        key("ns/acme--dev/workload/shop"),
        key("ns/acme--dev/service/shop"),
        key("ns/acme--dev/ingress/shop"),
    )
    assert {workload.tenant, svc.tenant, ing.tenant} == {world.acme}
    assert workload.name == "acme--dev/shop" and workload.discovered_attributes["image"] == "registry.example/shop:1"
    assert ing.discovered_attributes["hosts"] == ["shop.example.com"]
    namespace_item = key("ns/acme--dev")
    assert namespace_item.provenance == "declared"  # the catalog recorded it first; discovery adds beside it
    assert namespace_item.last_seen_at and namespace_item.discovered_attributes["cluster"] == "sandbox"
    assert key("ns/globex--dev/workload/api").tenant == world.globex
    assert key("k8s/sandbox/ns/tools/workload/agent").tenant is None  # no tenant owns "tools"

    assert edges_between(workload, namespace_item) == {("part_of", "discovered")}
    assert edges_between(svc, workload) == {("exposes", "discovered")}
    assert edges_between(ing, svc) == {("exposes", "discovered")}
    assert edges_between(workload, node) == {("runs_on", "observed")}
    assert edges_between(namespace_item, top) == {("part_of", "discovered")}
    application = key(f"catalog/app/{Application.objects.get(name='shop').pk}")
    assert edges_between(workload, application) == {("part_of", "discovered")}
    assert Relationship.objects.get(source=workload, target=node).tenant == world.acme


def test_no_edge_joins_two_tenants(world, cluster):
    discover(cluster)
    for edge in Relationship.objects.select_related("source", "target"):
        ends = {edge.source.tenant_id, edge.target.tenant_id} - {None}
        assert len(ends) <= 1, edge
        assert edge.tenant_id == (next(iter(ends)) if ends else None)
    # A tenant sees none of the other's items, and not the shared node and cluster: those are the
    # platform's, for operators (tests/cmdb/test_platform_visibility.py).
    acme_sees = set(ConfigurationItem.objects.restrict(world.user("viewer")).values_list("key", flat=True))
    assert "k8s/sandbox/node/sandbox-node" not in acme_sees and "k8s/sandbox" not in acme_sees
    operator_sees = set(ConfigurationItem.objects.restrict(world.operator).values_list("key", flat=True))
    assert {"k8s/sandbox/node/sandbox-node", "k8s/sandbox"} <= operator_sees
    assert not any(k.startswith("ns/globex") for k in acme_sees)
    assert not any("/ns/tools" in k for k in acme_sees)


def test_a_second_pass_changes_nothing(world, cluster):
    first = discover(cluster)
    before = (ConfigurationItem.objects.count(), Relationship.objects.count(), ChangeRecord.objects.count())
    second = discover(cluster)
    assert first.counts["items_created"] > 0 and first.counts["edges_created"] > 0
    assert second.counts["items_created"] == second.counts["items_updated"] == second.counts["edges_created"] == 0
    assert (ConfigurationItem.objects.count(), Relationship.objects.count(), ChangeRecord.objects.count()) == before


def test_removed_objects_go_stale_then_retire(world, cluster):
    discover(cluster)
    cluster.kube.delete("v1", "Service", "shop", "acme--dev")
    with override_settings(CMDB_STALE_AFTER=0):
        run = discover(cluster)
    gone, kept = key("ns/acme--dev/service/shop"), key("ns/acme--dev/workload/shop")
    assert gone.status == "stale" and kept.status == "active"
    assert set(Relationship.objects.filter(source=gone).values_list("status", flat=True)) == {"stale"}
    assert run.counts["items_stale"] >= 1
    assert ChangeRecord.objects.filter(item_id=gone.pk, action="stale").exists()
    with override_settings(CMDB_STALE_AFTER=0, CMDB_RETIRE_AFTER=0):
        discover(cluster)
    assert key("ns/acme--dev/service/shop").status == "retired"
    assert key("ns/acme--dev/workload/shop").status == "active"
    # It comes back when the cluster has it again.
    cluster.kube.apply([service("acme--dev", "shop", {"app": "shop"})])
    discover(cluster)
    assert key("ns/acme--dev/service/shop").status == "active"


def test_discovered_facts_never_overwrite_declared_ones(world, cluster):
    from apps.cmdb.services import item_update

    discover(cluster)
    workload = key("ns/acme--dev/workload/shop")
    item_update(actor=world.principal("developer"), item=workload, attributes={"image": "registry.example/shop:2"})
    discover(cluster)
    workload.refresh_from_db()
    assert workload.declared_attributes["image"] == "registry.example/shop:2"
    assert workload.discovered_attributes["image"] == "registry.example/shop:1"
    assert workload.conflicts == [
        {"attribute": "image", "declared": "registry.example/shop:2", "discovered": "registry.example/shop:1"}
    ]


def test_statements_do_not_grow_with_the_cluster(world, cluster):
    def statements():
        with CaptureQueriesContext(connection) as queries:
            discover(cluster)
        return len(queries)

    small = statements()
    cluster.kube.apply([service("acme--dev", f"extra-{n}", {"app": "shop"}) for n in range(30)])
    assert statements() == small


def test_an_unreachable_cluster_is_recorded(world):
    from tests.conftest import free_port

    cluster = Cluster.objects.create(name="down", auth_method="sandbox", api_url=f"http://127.0.0.1:{free_port()}")
    from apps.clusters.connection import kube_for

    run = discover(cluster, kube=kube_for(cluster, attempts=1))
    assert run.error and run.finished_at
