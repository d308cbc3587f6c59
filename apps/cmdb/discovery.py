"""Discovery: what a cluster runs, as items and relationships.

One pass lists namespaces, Deployments, Services, Ingresses, Nodes and Pods (six list calls), turns
them into facts (`read_cluster`), and writes the facts with bulk upserts keyed by item key and by
(source, target, kind, provenance) (`write_facts`, in discovery_store.py), so the number of SQL
statements does not grow with the number of objects. What a pass did not see goes stale after
CMDB_STALE_AFTER minutes and is retired after CMDB_RETIRE_AFTER.

Tenancy: a namespace belongs to a tenant only when it is an environment's namespace placed on this
cluster; objects in other namespaces, nodes and the cluster belong to the platform. An edge joins
two items of one tenant, or a tenant's item and a platform item: never two tenants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from apps.catalog.models import Application
from apps.clusters.connection import kube_for
from apps.clusters.kube import KubeClient, KubeError
from apps.clusters.models import Cluster
from apps.tenants.models import Environment

from . import keys
from .choices import Provenance, RelationKind
from .models import DiscoveryRun

APPLICATION_LABEL = "paas.dev/application"


@dataclass
class Facts:
    """What one pass saw: items by key, and edges as (source key, kind, target key, provenance)."""

    items: dict[str, dict] = field(default_factory=dict)
    edges: set[tuple[str, str, str, str]] = field(default_factory=set)
    tenant_of: dict[str, int | None] = field(default_factory=dict)
    application_keys: dict[tuple[int, str], str] = field(default_factory=dict)

    def item(self, key: str, *, tenant_id: int | None, type_slug: str, name: str, attributes: dict) -> str:
        self.items[key] = {"tenant_id": tenant_id, "type": type_slug, "name": name[:200], "attributes": attributes}
        self.tenant_of[key] = tenant_id
        return key

    def edge(self, source: str, kind: str, target: str, provenance: str = Provenance.DISCOVERED) -> None:
        self.edges.add((source, kind, target, provenance))


def _list(kube: KubeClient, api_version: str, kind: str) -> list[dict]:
    return kube.list(api_version, kind)[0]


def _nodes(kube: KubeClient, pods: list[dict]) -> list[str]:
    """Node names from the cluster, or from where pods run when the cluster does not serve Nodes."""
    try:
        return [node["metadata"]["name"] for node in _list(kube, "v1", "Node")]
    except KubeError as exc:
        if exc.status != 404:
            raise
    return sorted({pod.get("spec", {}).get("nodeName") for pod in pods} - {None, ""})


def _labels(obj: dict) -> dict:
    return dict(obj.get("metadata", {}).get("labels") or {})


def _matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def read_cluster(cluster: Cluster, kube: KubeClient) -> Facts:
    """List the cluster's objects and turn them into facts, tenancy decided by the placements."""
    namespaces = _list(kube, "v1", "Namespace")
    deployments = _list(kube, "apps/v1", "Deployment")
    services = _list(kube, "v1", "Service")
    ingresses = _list(kube, "networking.k8s.io/v1", "Ingress")
    pods = _list(kube, "v1", "Pod")
    nodes = _nodes(kube, pods)

    facts = Facts()
    names = [ns["metadata"]["name"] for ns in namespaces]
    owner = dict(
        Environment.objects.filter(namespace__in=names, placement__cluster=cluster).values_list(
            "namespace", "tenant_id"
        )
    )
    top = facts.item(
        keys.cluster_key(cluster.name),
        tenant_id=None,
        type_slug="cluster",
        name=cluster.name,
        attributes={"api_url": cluster.api_url},
    )
    for node in nodes:
        key = facts.item(
            keys.node_key(cluster.name, node),
            tenant_id=None,
            type_slug="node",
            name=node,
            attributes={"cluster": cluster.name},
        )
        facts.edge(key, RelationKind.PART_OF, top)

    def ns_key(namespace: str) -> str:
        return keys.namespace_key(namespace, None if owner.get(namespace) else cluster.name)

    for ns in namespaces:
        name = ns["metadata"]["name"]
        key = facts.item(
            ns_key(name),
            tenant_id=owner.get(name),
            type_slug="namespace",
            name=name,
            attributes={"cluster": cluster.name, "labels": _labels(ns)},
        )
        facts.edge(key, RelationKind.PART_OF, top)

    def key_of(namespace: str, kind: str, name: str) -> str:
        return keys.object_key(namespace, kind, name, None if owner.get(namespace) else cluster.name)

    def add(obj: dict, kind: str, attributes: dict) -> str | None:
        namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        if ns_key(namespace) not in facts.items:
            return None  # its namespace was not listed (created between the two calls)
        key = facts.item(
            key_of(namespace, kind, name),
            tenant_id=owner.get(namespace),
            type_slug=kind,
            name=f"{namespace}/{name}",
            attributes={"namespace": namespace, "labels": _labels(obj), **attributes},
        )
        facts.edge(key, RelationKind.PART_OF, ns_key(namespace))
        return key

    workloads = _workloads(facts, deployments, add, owner)
    _services(facts, services, add, workloads)
    _ingresses(facts, ingresses, add, key_of)
    _pods(facts, pods, workloads, cluster)
    return facts


def _workloads(facts: Facts, deployments, add, owner) -> dict[str, list[tuple[dict, dict, str]]]:
    """Deployments as workloads, part of their application when the portal deployed them."""
    by_namespace: dict[str, list[tuple[dict, dict, str]]] = {}
    wanted = set()
    for obj in deployments:
        spec = obj.get("spec", {})
        containers = spec.get("template", {}).get("spec", {}).get("containers") or [{}]
        key = add(obj, "workload", {"image": containers[0].get("image", ""), "replicas": spec.get("replicas", 1)})
        if key is None:
            continue
        namespace = obj["metadata"]["namespace"]
        selector = spec.get("selector", {}).get("matchLabels") or {}
        template_labels = spec.get("template", {}).get("metadata", {}).get("labels") or {}
        by_namespace.setdefault(namespace, []).append((selector, template_labels, key))
        application = _labels(obj).get(APPLICATION_LABEL)
        if application and owner.get(namespace):
            wanted.add((owner[namespace], application, key))
    if wanted:
        found = Application.objects.filter(
            tenant_id__in={t for t, _, _ in wanted}, name__in={n for _, n, _ in wanted}
        ).values_list("tenant_id", "name", "id")
        ids = {(tenant_id, name): pk for tenant_id, name, pk in found}
        for tenant_id, name, key in wanted:
            if (tenant_id, name) in ids:
                app_key = keys.application_key(ids[(tenant_id, name)])
                facts.application_keys[(tenant_id, name)] = app_key
                facts.tenant_of[app_key] = tenant_id
                facts.edge(key, RelationKind.PART_OF, app_key)
    return by_namespace


def _services(facts: Facts, services, add, workloads) -> None:
    """Services, exposing the workloads whose pods their selector picks."""
    for obj in services:
        spec = obj.get("spec", {})
        key = add(obj, "service", {"type": spec.get("type", "ClusterIP")})
        if key is None:
            continue
        selector = spec.get("selector") or {}
        for _, template_labels, workload in workloads.get(obj["metadata"]["namespace"], []):
            if _matches(selector, template_labels):
                facts.edge(key, RelationKind.EXPOSES, workload)


def _ingresses(facts: Facts, ingresses, add, key_of) -> None:
    """Ingresses, exposing the Services their rules send traffic to."""
    for obj in ingresses:
        spec = obj.get("spec", {})
        rules = spec.get("rules") or []
        key = add(obj, "ingress", {"hosts": sorted({rule.get("host", "") for rule in rules} - {""})})
        if key is None:
            continue
        namespace = obj["metadata"]["namespace"]
        backends = [spec.get("defaultBackend") or {}]
        for rule in rules:
            backends += [path.get("backend", {}) for path in (rule.get("http") or {}).get("paths", [])]
        for backend in backends:
            service = (backend.get("service") or {}).get("name")
            if service and key_of(namespace, "service", service) in facts.items:
                facts.edge(key, RelationKind.EXPOSES, key_of(namespace, "service", service))


def _pods(facts: Facts, pods, workloads, cluster: Cluster) -> None:
    """Observed: a workload runs on the nodes its pods are scheduled to. Pods themselves are too
    short-lived to be items."""
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        namespace = pod["metadata"].get("namespace", "")
        if not node or keys.node_key(cluster.name, node) not in facts.items:
            continue
        labels = _labels(pod)
        for selector, _, workload in workloads.get(namespace, []):
            if _matches(selector, labels):
                facts.edge(workload, RelationKind.RUNS_ON, keys.node_key(cluster.name, node), Provenance.OBSERVED)


def discover(cluster: Cluster, *, kube: KubeClient | None = None) -> DiscoveryRun:
    """One discovery pass over `cluster`, recorded as a DiscoveryRun (its counts, or its error)."""
    from .discovery_store import write_facts

    run = DiscoveryRun.objects.create(cluster=cluster)
    try:
        client = kube or kube_for(cluster)
        try:
            facts = read_cluster(cluster, client)
        finally:
            if kube is None:
                client.close()
        run.counts = write_facts(cluster, facts, now=timezone.now())
    except KubeError as exc:
        run.error = exc.message
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "error", "finished_at"])
    return run
