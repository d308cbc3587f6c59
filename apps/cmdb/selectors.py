"""Reads of the CMDB: impact analysis (one recursive CTE), the dependency graph around an item, and
the blast radius of a change that the approvals app shows.

Impact walks relationships in PostgreSQL, breadth first, with the path of item ids so far: an item
already on the path is never entered again (cycle safety), and the walk stops at `depth`. Each
reached item is reported once, at its shortest depth, with that path. Retired edges are not walked.
A tenant's walk follows only its own edges and never enters a platform item, so neither the items
it reports nor the paths to them name the platform's inventory (two workloads on one node are not
related through it for tenants). Operators' walks may also enter platform items (`platform`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from . import keys
from .choices import Direction, RelationKind, Status
from .models import ChangeRecord, CIType, ConfigurationItem, DiscoveryRun, ImportJob, Relationship, SavedFilter
from .policies import type_policy

MAX_DEPTH = 10
DEFAULT_DEPTH = 6

_WALK = """
WITH RECURSIVE walk(item_id, depth, path) AS (
    SELECT %(start)s::bigint, 0, ARRAY[%(start)s::bigint]
  UNION ALL
    SELECT step.next_id, walk.depth + 1, walk.path || step.next_id
    FROM walk
    CROSS JOIN LATERAL (
        SELECT DISTINCT edge.{next} AS next_id
        FROM cmdb_relationship edge {join}
        WHERE edge.{this} = walk.item_id AND edge.status <> 'retired' {tenant_clause}
    ) step
    WHERE walk.depth < %(depth)s AND NOT step.next_id = ANY(walk.path)
)
SELECT DISTINCT ON (item_id) item_id, depth, path FROM walk WHERE depth > 0 ORDER BY item_id, depth, path
"""


def item_list_for(principal, *, tenant) -> QuerySet[ConfigurationItem]:
    """The items of `tenant` the principal may see, and the platform items its relationships reach."""
    return (
        ConfigurationItem.objects.restrict(principal, "view")
        .filter(Q(tenant=tenant) | Q(tenant__isnull=True))
        .select_related("ci_type", "tenant")
    )


def workload_item_for(principal, *, workload) -> ConfigurationItem | None:
    """The item of a lifecycle workload (what discovery keys its Deployment by), if the principal may see it."""
    key = keys.object_key(workload.environment.namespace, "workload", workload.application.name)
    return item_list_for(principal, tenant=workload.tenant).filter(key=key).first()


def item_history_for(principal, *, item: ConfigurationItem) -> QuerySet[ChangeRecord]:
    """Every change record of `item` and its relationships that the principal may see, unordered.

    The one rule for an item's history, for the page and the API alike: a tenant item's records are
    its tenant's, through the restricted queryset; a platform item's records belong to no tenant
    (only operators reach a platform item, and the tenant rule would hide its records from them).
    """
    records = ChangeRecord.objects.filter(Q(item_id=item.pk) | Q(other_item_id=item.pk))
    if item.tenant_id is None:
        return records.filter(tenant__isnull=True)
    return records.restrict(principal, "view").filter(tenant_id=item.tenant_id)


def relationship_list_for(principal, *, tenant) -> QuerySet[Relationship]:
    """The relationships of `tenant` the principal may see, with both ends."""
    return Relationship.objects.restrict(principal, "view").filter(tenant=tenant).select_related("source", "target")


def item_relationships_for(principal, *, item: ConfigurationItem, tenant) -> QuerySet[Relationship]:
    """The relationships of `tenant` that start or end at `item`, with both ends' types."""
    return (
        Relationship.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .filter(Q(source=item) | Q(target=item))
        .select_related("source__ci_type", "target__ci_type")
    )


def saved_filter_list_for(principal, *, tenant) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.restrict(principal, "view").filter(tenant=tenant)


def import_job_list_for(principal, *, tenant) -> QuerySet[ImportJob]:
    """The tenant's import jobs, newest first, without their uploaded content."""
    return (
        ImportJob.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .defer("content")
        .select_related("created_by")
        .order_by("-id")
    )


def ci_type_list_for(principal) -> QuerySet[CIType]:
    """The CI types the principal may read (the platform's vocabulary), by name."""
    return type_policy.scope(CIType.objects.all(), principal, "view").order_by("name")


def ci_type_list(*, declarable: bool = False) -> QuerySet[CIType]:
    """Every CI type by name, for pages that already checked membership; `declarable` leaves out the
    platform's own types, which only discovery creates."""
    types = CIType.objects.order_by("name")
    return types.filter(is_platform=False) if declarable else types


@dataclass
class Reached:
    item_id: int
    depth: int
    path: list[int]  # from the start item to this one, both included


def tenant_scope(principal) -> list[int] | None:
    """The tenants whose edges a principal's walk may follow; None for no restriction (the platform)."""
    if principal is None:
        return None
    return as_principal(principal).tenant_ids(Role.VIEWER)


def impact(
    item_id: int,
    *,
    direction: str = Direction.DOWNSTREAM,
    depth: int = DEFAULT_DEPTH,
    tenant_ids: list[int] | None = None,
    platform: bool = False,
) -> list[Reached]:
    """Every item reachable from `item_id` within `depth` hops, nearest first.

    Downstream follows edges target -> source: the items that rely on this one, directly or
    through others (what a change to it affects). Upstream follows source -> target: what it relies
    on. `tenant_ids` restricts the walk to those tenants' edges and items; `platform` lets it also
    follow the platform's edges and enter platform items (operators). None walks everything.
    """
    depth = max(1, min(int(depth), MAX_DEPTH))
    this, next_ = ("target_id", "source_id") if direction == Direction.DOWNSTREAM else ("source_id", "target_id")
    params: dict[str, int | list[int]] = {"start": item_id, "depth": depth}
    join = tenant_clause = ""
    if tenant_ids is not None:
        params["tenants"] = list(tenant_ids)
        if platform:
            tenant_clause = "AND (edge.tenant_id IS NULL OR edge.tenant_id = ANY(%(tenants)s))"
        else:
            join = f"JOIN cmdb_configurationitem reached ON reached.id = edge.{next_}"
            tenant_clause = "AND edge.tenant_id = ANY(%(tenants)s) AND reached.tenant_id = ANY(%(tenants)s)"
    sql = _WALK.format(this=this, next=next_, join=join, tenant_clause=tenant_clause)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return sorted(
        (Reached(item_id=row[0], depth=row[1], path=list(row[2])) for row in rows),
        key=lambda reached: (reached.depth, reached.item_id),
    )


def _names(ids) -> dict[int, ConfigurationItem]:
    return {
        item.pk: item
        for item in ConfigurationItem.objects.filter(pk__in=set(ids))
        .select_related("ci_type", "tenant")
        .only(
            "id",
            "name",
            "status",
            "provenance",
            "discovered_attributes",
            "ci_type__slug",
            "ci_type__name",
            "tenant__slug",
        )
    }


def item_summary(item: ConfigurationItem) -> dict:
    return {
        "id": item.pk,
        "name": item.name,
        "type": item.ci_type.slug,
        "status": item.status,
        "tenant": item.tenant.slug if item.tenant is not None else None,
        # A workload's health and sync as the lifecycle watcher last read them; None for other items.
        "health": (item.discovered_attributes or {}).get("health"),
        "sync": (item.discovered_attributes or {}).get("sync"),
    }


def impact_report(
    item: ConfigurationItem, *, direction: str, depth: int, tenant_ids: list[int] | None, platform: bool = False
) -> dict:
    """The impact of `item` as JSON-ready data: each reached item with its depth and named path."""
    reached = impact(item.pk, direction=direction, depth=depth, tenant_ids=tenant_ids, platform=platform)
    items = _names({step for r in reached for step in r.path} | {item.pk})
    return {
        "item": item_summary(items[item.pk]),
        "direction": direction,
        "depth": max(1, min(int(depth), MAX_DEPTH)),
        "count": len(reached),
        "items": [
            {
                **item_summary(items[r.item_id]),
                "depth": r.depth,
                "path": r.path,
                "path_names": [items[step].name for step in r.path],
            }
            for r in reached
        ],
    }


def blast_radius(*, application, environment, depth: int = 6) -> dict:
    """What a change to `application` in `environment` would affect, for a change request: the CI of
    the application's workload there (or the application itself before its first deployment), the
    items downstream (that rely on it, or on the application it is part of) and upstream (that it
    relies on), each with its path. Walks only the application's tenant's edges and items: the
    request is shown to the tenant's members, who never see platform items. JSON-serializable."""
    found = {
        item.ci_type.slug: item
        for item in ConfigurationItem.objects.select_related("ci_type", "tenant").filter(
            tenant_id=application.tenant_id,
            key__in=[
                keys.object_key(environment.namespace, "workload", application.name),
                keys.application_key(application.pk),
            ],
        )
    }
    item = found.get("workload") or found.get("application")
    if item is None:
        return {"item": None, "downstream": [], "upstream": [], "depth": depth}
    scope = [application.tenant_id]
    downstream = impact_report(item, direction=Direction.DOWNSTREAM, depth=depth, tenant_ids=scope)
    upstream = impact_report(item, direction=Direction.UPSTREAM, depth=depth, tenant_ids=scope)
    reached = {entry["id"]: entry for entry in downstream["items"]}
    app_item = found.get("application")
    if app_item is not None and app_item.pk != item.pk and depth > 1:
        # Whoever relies on the application relies on its workload too: one hop further away. The
        # application's parts (its workloads in other environments) do not: they rely on the
        # application, not on this workload, so neither they nor what relies on them is affected.
        parts = set(
            Relationship.objects.filter(target=app_item, kind=RelationKind.PART_OF).values_list("source_id", flat=True)
        )
        via_app = impact_report(app_item, direction=Direction.DOWNSTREAM, depth=depth - 1, tenant_ids=scope)
        for entry in via_app["items"]:
            if entry["path"][1] in parts:
                continue
            if entry["id"] != item.pk and entry["id"] not in reached:
                reached[entry["id"]] = {
                    **entry,
                    "depth": entry["depth"] + 1,
                    "path": [item.pk, *entry["path"]],
                    "path_names": [item.name, *entry["path_names"]],
                }
    return {
        "item": downstream["item"],
        "depth": downstream["depth"],
        "downstream": sorted(reached.values(), key=lambda entry: (entry["depth"], entry["name"])),
        "upstream": upstream["items"],
    }


def graph(
    item: ConfigurationItem,
    *,
    depth: int = 2,
    tenant_ids: list[int] | None,
    platform: bool = False,
    types=(),
    provenances=(),
    include_stale: bool = True,
) -> dict:
    """The neighbourhood of `item` within `depth` hops either way, as nodes and edges for the map.

    Filters: item types, edge provenances, and whether stale and retired items are shown. The centre
    is always shown.
    """
    ids = {item.pk}
    for direction in (Direction.UPSTREAM, Direction.DOWNSTREAM):
        ids |= {
            r.item_id
            for r in impact(item.pk, direction=direction, depth=depth, tenant_ids=tenant_ids, platform=platform)
        }
    nodes = ConfigurationItem.objects.filter(pk__in=ids).select_related("ci_type", "tenant")
    if types:
        nodes = nodes.filter(ci_type__slug__in=types) | ConfigurationItem.objects.filter(pk=item.pk)
    if not include_stale:
        nodes = nodes.filter(status=Status.ACTIVE) | ConfigurationItem.objects.filter(pk=item.pk)
    shown_nodes = list(nodes.select_related("ci_type", "tenant").distinct().order_by("id"))
    shown = {node.pk for node in shown_nodes}
    edges = Relationship.objects.filter(source_id__in=shown, target_id__in=shown)
    if tenant_ids is not None:
        edges = edges.filter(tenant_id__in=tenant_ids) | (
            edges.filter(tenant__isnull=True) if platform else edges.none()
        )
    if provenances:
        edges = edges.filter(provenance__in=provenances)
    if not include_stale:
        edges = edges.filter(status=Status.ACTIVE)
    return {
        "center": item.pk,
        "nodes": [
            {**item_summary(node), "provenance": node.provenance, "center": node.pk == item.pk} for node in shown_nodes
        ],
        "edges": [
            {
                "id": edge.pk,
                "source": edge.source_id,
                "target": edge.target_id,
                "kind": edge.kind,
                "provenance": edge.provenance,
                "status": edge.status,
            }
            for edge in edges.order_by("id").distinct()
        ],
    }


def graph_dot(data: dict) -> str:
    """The graph in Graphviz DOT."""

    def quote(text) -> str:
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph cmdb {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for node in data["nodes"]:
        attrs = f"label={quote(node['name'] + chr(10) + node['type'])}"
        if node["status"] != Status.ACTIVE:
            attrs += ', style="rounded,dashed"'
        if node["center"]:
            attrs += ", penwidth=2"
        lines.append(f"  n{node['id']} [{attrs}];")
    for edge in data["edges"]:
        style = "" if edge["provenance"] == "declared" else ", style=dashed"
        lines.append(f"  n{edge['source']} -> n{edge['target']} [label={quote(edge['kind'])}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def platform_item_list(*, limit: int = 500) -> QuerySet[ConfigurationItem]:
    """The platform's own items (clusters, nodes: no tenant), by type and name; for the operator console."""
    items = ConfigurationItem.objects.filter(tenant__isnull=True).select_related("ci_type", "cluster")
    return items.order_by("ci_type__name", "name")[:limit]


def discovery_run_list(*, limit: int = 20) -> QuerySet[DiscoveryRun]:
    """The latest discovery runs with their clusters."""
    return DiscoveryRun.objects.select_related("cluster")[:limit]
