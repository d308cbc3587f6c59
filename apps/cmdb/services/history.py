"""The CMDB's own history: one ChangeRecord per change of an item or a relationship."""

from __future__ import annotations

from typing import Any

from apps.tenants.principals import Principal

from ..models import ChangeRecord, ConfigurationItem, Relationship


def actor_parts(actor: Principal | str | None) -> tuple[Any, str]:
    """(user, display) for a principal; (None, actor) for a named source."""
    if isinstance(actor, str):
        return None, actor
    if actor is None:
        return None, "platform"
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    if user is None:
        return None, "anonymous"
    key = actor.api_key
    return user, user.email + (f" (key {key.lookup})" if key is not None else "")


def item_snapshot(item: ConfigurationItem) -> dict:
    return {
        "type": item.ci_type.slug,
        "name": item.name,
        "description": item.description,
        "labels": item.labels,
        "declared_attributes": item.declared_attributes,
        "discovered_attributes": item.discovered_attributes,
        "status": item.status,
    }


def edge_snapshot(edge: Relationship) -> dict:
    return {
        "source": edge.source_id,
        "target": edge.target_id,
        "kind": edge.kind,
        "provenance": edge.provenance,
        "status": edge.status,
        "note": edge.note,
    }


def changed(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Only the fields that differ, so a record reads as what changed."""
    if before is None or after is None:
        return before, after
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def record(
    *,
    actor: Principal | str | None,
    action: str,
    item: ConfigurationItem | None = None,
    edge: Relationship | None = None,
    before: dict | None = None,
    after: dict | None = None,
    summary: str = "",
    save: bool = True,
) -> ChangeRecord:
    """A change record for an item or an edge (its source item carries it in the item's history)."""
    user, display = actor_parts(actor)
    if item is not None:
        tenant_id, item_id = item.tenant_id, item.pk
    elif edge is not None:
        tenant_id, item_id = edge.tenant_id, edge.source_id
    else:
        raise ValueError("A change record is of an item or of an edge.")
    before, after = changed(before, after)
    entry = ChangeRecord(
        tenant_id=tenant_id,
        item_id=item_id,
        relationship_id=edge.pk if edge is not None else None,
        other_item_id=edge.target_id if edge is not None else None,
        action=action,
        actor=user,
        source=display[:200],
        summary=summary[:300],
        before=before,
        after=after,
    )
    if save:
        entry.save()
    return entry
