"""Writing one discovery pass: bulk upserts of items and edges, their history, and staleness.

Statements are bounded: a few per BATCH objects (read what exists, upsert, write history), plus a
fixed number for staleness, whatever the cluster's size. Discovery writes only the discovered side
of an item (its discovered attributes, when it was seen, its status); names and declared attributes
that people or the catalog gave are never overwritten.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction

from apps.clusters.models import Cluster

from .choices import LIFECYCLE_ATTRIBUTES, Provenance, Status
from .discovery import Facts
from .models import ChangeRecord, CIType, ConfigurationItem, Relationship

BATCH = 2000


def _chunks(values, size=BATCH):
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _history(cluster: Cluster, **fields) -> ChangeRecord:
    return ChangeRecord(source=f"discovery:{cluster.name}", **fields)


def _lifecycle(before: dict | None) -> dict:
    """What the lifecycle watcher wrote into an item (health, drift), which discovery does not read."""
    old = (before or {}).get("discovered_attributes") or {}
    return {name: old[name] for name in LIFECYCLE_ATTRIBUTES if name in old}


def _upsert_items(cluster: Cluster, facts: Facts, now, history: list) -> tuple[dict[str, int], dict]:
    """Upsert every seen item by key; returns (key -> id, counts)."""
    types = dict(CIType.objects.values_list("slug", "id"))
    source = f"discovery:{cluster.name}"
    ids, counts = {}, {"items_created": 0, "items_updated": 0}
    for chunk in _chunks(sorted(facts.items)):
        existing = {
            row["key"]: row
            for row in ConfigurationItem.objects.filter(key__in=chunk).values(
                "id", "key", "tenant_id", "discovered_attributes", "status"
            )
        }
        rows = []
        for key in chunk:
            fact = facts.items[key]
            if fact["type"] not in types:
                continue
            before = existing.get(key)
            if before is not None and before["tenant_id"] != fact["tenant_id"]:
                continue  # an item never moves between tenants; the old one will go stale
            rows.append(
                ConfigurationItem(
                    key=key,
                    tenant_id=fact["tenant_id"],
                    ci_type_id=types[fact["type"]],
                    name=fact["name"],
                    discovered_attributes={**_lifecycle(before), **fact["attributes"]},
                    provenance=Provenance.DISCOVERED,
                    source=source,
                    status=Status.ACTIVE,
                    cluster=cluster,
                    last_seen_at=now,
                )
            )
        ConfigurationItem.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["discovered_attributes", "status", "cluster", "last_seen_at", "updated_at"],
        )
        for item in rows:
            ids[item.key] = item.pk
            before = existing.get(item.key)
            after = {"discovered_attributes": item.discovered_attributes, "status": Status.ACTIVE}
            if before is None:
                counts["items_created"] += 1
                history.append(
                    _history(
                        cluster,
                        tenant_id=item.tenant_id,
                        item_id=item.pk,
                        action="create",
                        summary=f"discovered {item.name}",
                        after=after,
                    )
                )
            elif before["discovered_attributes"] != item.discovered_attributes or before["status"] != Status.ACTIVE:
                counts["items_updated"] += 1
                old = {"discovered_attributes": before["discovered_attributes"], "status": before["status"]}
                changed = [k for k in after if old[k] != after[k]]
                history.append(
                    _history(
                        cluster,
                        tenant_id=item.tenant_id,
                        item_id=item.pk,
                        action="update",
                        summary=f"{item.name} changed in the cluster",
                        before={k: old[k] for k in changed},
                        after={k: after[k] for k in changed},
                    )
                )
    # Applications are the catalog's items: linked to, never written by discovery.
    wanted = sorted(set(facts.application_keys.values()))
    for chunk in _chunks(wanted):
        ids.update(ConfigurationItem.objects.filter(key__in=chunk).values_list("key", "id"))
    return ids, counts


def _upsert_edges(cluster: Cluster, facts: Facts, ids: dict[str, int], now, history: list) -> dict:
    tenants = {ids[key]: facts.tenant_of.get(key) for key in ids}
    existing = {
        (s, t, k, p): status
        for s, t, k, p, status in Relationship.objects.filter(cluster=cluster).values_list(
            "source_id", "target_id", "kind", "provenance", "status"
        )
    }
    rows, refused = [], 0
    for source_key, kind, target_key, provenance in sorted(facts.edges):
        source, target = ids.get(source_key), ids.get(target_key)
        if source is None or target is None or source == target:
            continue
        ends = {tenants[source], tenants[target]} - {None}
        if len(ends) > 1:
            refused += 1  # never an edge between two tenants
            continue
        rows.append(
            Relationship(
                source_id=source,
                target_id=target,
                kind=kind,
                provenance=provenance,
                tenant_id=next(iter(ends), None),
                origin=f"discovery:{cluster.name}",
                status=Status.ACTIVE,
                cluster=cluster,
                last_seen_at=now,
            )
        )
    created = 0
    for chunk in _chunks(rows):
        Relationship.objects.bulk_create(
            chunk,
            update_conflicts=True,
            unique_fields=["source", "target", "kind", "provenance"],
            update_fields=["status", "cluster", "last_seen_at"],
        )
        for edge in chunk:
            status = existing.get((edge.source_id, edge.target_id, edge.kind, edge.provenance))
            if status == Status.ACTIVE:
                continue
            created += status is None
            history.append(
                _history(
                    cluster,
                    tenant_id=edge.tenant_id,
                    item_id=edge.source_id,
                    relationship_id=edge.pk,
                    other_item_id=edge.target_id,
                    action="create" if status is None else "update",
                    summary=f"{edge.kind} ({edge.provenance})",
                    before=None if status is None else {"status": status},
                    after={"kind": edge.kind, "target": edge.target_id, "status": Status.ACTIVE},
                )
            )
    return {"edges_seen": len(rows), "edges_created": created, "edges_refused_cross_tenant": refused}


def _age(cluster: Cluster, now, history: list) -> dict:
    """Items and edges of this cluster not seen lately: stale, then retired."""
    stale_cut = now - timedelta(minutes=settings.CMDB_STALE_AFTER)
    retire_cut = now - timedelta(minutes=settings.CMDB_RETIRE_AFTER)
    counts = {}
    for model, noun in ((ConfigurationItem, "items"), (Relationship, "edges")):
        seen = model.objects.filter(cluster=cluster, last_seen_at__isnull=False)
        for status, action, rows in (
            (
                Status.RETIRED,
                ChangeRecord.Action.RETIRE,
                seen.filter(last_seen_at__lt=retire_cut).exclude(status=Status.RETIRED),
            ),
            (Status.STALE, ChangeRecord.Action.STALE, seen.filter(last_seen_at__lt=stale_cut, status=Status.ACTIVE)),
        ):
            found = list(
                rows.values_list(
                    "id",
                    "tenant_id",
                    "status",
                    *(("name",) if model is ConfigurationItem else ("source_id", "target_id")),
                )
            )
            for chunk in _chunks(found):
                model.objects.filter(id__in=[row[0] for row in chunk]).update(status=status)
            for row in found:
                fields = (
                    {"item_id": row[0], "summary": f"{row[3]} not seen since the last discovery"}
                    if model is ConfigurationItem
                    else {
                        "item_id": row[3],
                        "relationship_id": row[0],
                        "other_item_id": row[4],
                        "summary": "relationship not seen since the last discovery",
                    }
                )
                history.append(
                    _history(
                        cluster,
                        tenant_id=row[1],
                        action=action,
                        before={"status": row[2]},
                        after={"status": status},
                        **fields,
                    )
                )
            counts[f"{noun}_{status}"] = len(found)
    return counts


@transaction.atomic
def write_facts(cluster: Cluster, facts: Facts, *, now) -> dict:
    """Store one pass's facts; returns its counts for the DiscoveryRun."""
    history: list[ChangeRecord] = []
    ids, counts = _upsert_items(cluster, facts, now, history)
    counts.update(_upsert_edges(cluster, facts, ids, now, history))
    counts.update(_age(cluster, now, history))
    for chunk in _chunks(history):
        ChangeRecord.objects.bulk_create(chunk)
    counts["items_seen"] = len(facts.items)
    counts["history"] = len(history)
    return counts
