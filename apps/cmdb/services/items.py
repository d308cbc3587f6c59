"""Declaring, changing and removing configuration items and their relationships.

Each service checks the policy, validates, writes its rows, one ChangeRecord per change and one
audit event in one transaction, and raises ApplicationError with a stable code, naming the field.
"""

from __future__ import annotations

import math
import uuid

from django.db import IntegrityError, transaction
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.validators import validator_for

from apps.core.audit import audit_record, diff
from apps.core.errors import INVALID, ApplicationError, require
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from ..choices import Provenance, RelationKind
from ..models import ChangeRecord, CIType, ConfigurationItem, Relationship
from .history import actor_parts, edge_snapshot, item_snapshot, record

# Refusals, as constants that tests import.
SCHEMA_VIOLATION = "schema_violation"
PLATFORM_TYPE = "platform_type"
SELF_RELATION = "self_relation"
CROSS_TENANT = "cross_tenant"
PLATFORM_ONLY = "platform_only"
DUPLICATE = "duplicate"
NOT_DECLARED = "not_declared"

SELF_RELATION_MESSAGE = "An item cannot relate to itself."
CROSS_TENANT_MESSAGE = "Both ends of a relationship must belong to the same organization."
PLATFORM_TYPE_MESSAGE = "Items of this type belong to the platform; discovery records them."
PLATFORM_ONLY_MESSAGE = "At least one end of a relationship must be one of your organization's items."
DUPLICATE_MESSAGE = "This relationship is already declared."
NOT_DECLARED_MESSAGE = "Only declared relationships can be removed; discovery keeps the others."
NUL_MESSAGE = "A NUL character (\\u0000) in {field} cannot be stored; remove it."
MAX_NESTING = 32

UNCHANGED = object()


def refuse(field: str | None, message: str, code: str = INVALID) -> ApplicationError:
    return ApplicationError(message, code=code, field=field)


# --- Validation --------------------------------------------------------------------------------


def storable(value, field: str):
    """`value` if PostgreSQL can store it: no NUL character or lone surrogate in any text (text and
    jsonb refuse the one, psycopg cannot encode the other: either would be a 500), no NaN or infinity
    (jsonb has none), and JSON nested at most MAX_NESTING deep. Checked here, not only by the API's
    parser, because imports (plain JSON files, which may write NaN) and forms reach the services
    without it."""
    pending = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if depth > MAX_NESTING:
            raise refuse(field, f"Nest {field} at most {MAX_NESTING} levels deep.")
        if isinstance(current, str):
            if "\x00" in current:
                raise refuse(field, NUL_MESSAGE.format(field=field))
            if not current.isascii():
                try:
                    current.encode()
                except UnicodeEncodeError:
                    raise refuse(
                        field, f"{field} holds a character that is not valid text (a lone surrogate)."
                    ) from None
        elif isinstance(current, float) and not math.isfinite(current):
            raise refuse(field, f"{field} holds {current}, which is not a number JSON can store.")
        elif isinstance(current, dict):
            pending.extend((key, depth + 1) for key in current)
            pending.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list | tuple):
            pending.extend((child, depth + 1) for child in current)
    return value


def attributes_check(ci_type: CIType, attributes) -> dict:
    """The attributes, if they satisfy the type's schema; otherwise a refusal naming the first problem."""
    if not isinstance(attributes, dict):
        raise refuse("attributes", "Give the attributes as a JSON object.", SCHEMA_VIOLATION)
    storable(attributes, "attributes")
    schema = ci_type.attribute_schema or {}
    if not schema:
        return attributes
    validator = validator_for(schema, default=Draft202012Validator)(schema, format_checker=FormatChecker())
    error = next(iter(sorted(validator.iter_errors(attributes), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path)
        raise refuse(
            "attributes",
            f"{where + ': ' if where else ''}{error.message} (the {ci_type.name} schema).",
            SCHEMA_VIOLATION,
        )
    return attributes


def labels_check(labels) -> dict:
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise refuse("labels", 'Give labels as an object of text values, for example {"tier": "gold"}.')
    if any(not key.strip() or len(key) > 63 or len(value) > 200 for key, value in labels.items()):
        raise refuse("labels", "Label names are 1 to 63 characters and values at most 200.")
    return storable(labels, "labels")


def _name_check(name) -> str:
    name = storable((name or "").strip(), "name")
    if not name or len(name) > 200:
        raise refuse("name", "Give a name of 1 to 200 characters.")
    return name


# --- Items -------------------------------------------------------------------------------------


@transaction.atomic
def item_declare(
    *,
    actor: Principal,
    tenant: Tenant,
    ci_type: CIType,
    name: str,
    description: str = "",
    labels: dict | None = None,
    attributes: dict | None = None,
    source: str = "",
) -> ConfigurationItem:
    """Declare an item of the tenant ("billing", "payments API"); its attributes must satisfy the
    type's schema. Platform types (cluster, node) are discovery's to record."""
    require(policy_for(ConfigurationItem).can_add(actor, tenant), tenant=tenant)
    if ci_type.is_platform:
        raise refuse("ci_type", PLATFORM_TYPE_MESSAGE, PLATFORM_TYPE)
    item = ConfigurationItem(
        tenant=tenant,
        ci_type=ci_type,
        name=_name_check(name),
        description=storable((description or "").strip(), "description"),
        labels=labels_check(labels or {}),
        declared_attributes=attributes_check(ci_type, attributes or {}),
        key=f"declared/{uuid.uuid4().hex}",
        provenance=Provenance.DECLARED,
        source=source or actor_parts(actor)[1][:100],
    )
    item.save()
    record(
        actor=actor,
        action=ChangeRecord.Action.CREATE,
        item=item,
        after=item_snapshot(item),
        summary=f"declared {item.name}",
    )
    audit_record(
        actor=actor,
        action="cmdb.item.create",
        obj=item,
        tenant=tenant,
        changes={"name": [None, item.name], "type": [None, ci_type.slug]},
    )
    return item


@transaction.atomic
def item_update(
    *,
    actor: Principal,
    item: ConfigurationItem,
    name: str | None = None,
    description: str | None = None,
    labels: dict | None = None,
    attributes: dict | None = None,
) -> ConfigurationItem:
    """Change what is declared about an item. Discovered attributes are never touched here: a
    difference between the two stays visible as a conflict."""
    require(policy_for(ConfigurationItem).can_change(actor, item), tenant=item.tenant)
    before = item_snapshot(item)
    if name is not None:
        item.name = _name_check(name)
    if description is not None:
        item.description = storable(description.strip(), "description")
    if labels is not None:
        item.labels = labels_check(labels)
    if attributes is not None:
        item.declared_attributes = attributes_check(item.ci_type, attributes)
    after = item_snapshot(item)
    if after == before:
        return item
    item.save(update_fields=["name", "description", "labels", "declared_attributes", "updated_at"])
    record(
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        item=item,
        before=before,
        after=after,
        summary=f"changed {item.name}",
    )
    audit_record(actor=actor, action="cmdb.item.update", obj=item, tenant=item.tenant, changes=diff(before, after))
    return item


@transaction.atomic
def item_delete(*, actor: Principal, item: ConfigurationItem) -> None:
    """Remove an item and its relationships; its history stays."""
    require(policy_for(ConfigurationItem).can_delete(actor, item), tenant=item.tenant)
    record(
        actor=actor,
        action=ChangeRecord.Action.DELETE,
        item=item,
        before=item_snapshot(item),
        summary=f"deleted {item.name}",
    )
    audit_record(
        actor=actor, action="cmdb.item.delete", obj=item, tenant=item.tenant, changes={"name": [item.name, None]}
    )
    item.delete()


# --- Relationships -----------------------------------------------------------------------------


def _edge_tenant(actor: Principal, source: ConfigurationItem, target: ConfigurationItem) -> Tenant:
    """The tenant an edge belongs to; refuses self-edges, cross-tenant edges and edges between two
    platform items, and platform endpoints the actor cannot see."""
    if source.pk == target.pk:
        raise refuse("target", SELF_RELATION_MESSAGE, SELF_RELATION)
    if source.tenant_id and target.tenant_id and source.tenant_id != target.tenant_id:
        raise refuse("target", CROSS_TENANT_MESSAGE, CROSS_TENANT)
    tenant = source.tenant if source.tenant_id else target.tenant
    if tenant is None:
        raise refuse("source", PLATFORM_ONLY_MESSAGE, PLATFORM_ONLY)
    policy = policy_for(ConfigurationItem)
    for field, end in (("source", source), ("target", target)):
        if not policy.can_view(actor, end):
            raise ApplicationError("Not found.", code="not_found", status=404, field=field)
    return tenant


@transaction.atomic
def relationship_declare(
    *, actor: Principal, source: ConfigurationItem, target: ConfigurationItem, kind: str, note: str = ""
) -> Relationship:
    """Declare "source <kind> target" ("billing depends on payments API"). Cycles are allowed (impact
    analysis is cycle-safe); an item relating to itself and edges between tenants are not."""
    if kind not in RelationKind.values:
        raise refuse("kind", f"“{kind}” is not a relationship; use one of {', '.join(RelationKind.values)}.")
    tenant = _edge_tenant(actor, source, target)
    require(policy_for(Relationship).can_add(actor, tenant), tenant=tenant)
    edge = Relationship(
        tenant=tenant,
        source=source,
        target=target,
        kind=kind,
        provenance=Provenance.DECLARED,
        origin=actor_parts(actor)[1][:100],
        note=storable((note or "").strip()[:300], "note"),
    )
    try:
        with transaction.atomic():
            edge.save()
    except IntegrityError:
        raise ApplicationError(DUPLICATE_MESSAGE, code=DUPLICATE, field="target") from None
    record(
        actor=actor,
        action=ChangeRecord.Action.CREATE,
        edge=edge,
        after=edge_snapshot(edge),
        summary=f"{source.name} {edge.get_kind_display()} {target.name}",
    )
    audit_record(
        actor=actor,
        action="cmdb.relationship.create",
        obj=edge,
        tenant=tenant,
        object_display=f"{source.name} {edge.get_kind_display()} {target.name}",
        changes={"kind": [None, kind], "source": [None, source.name], "target": [None, target.name]},
    )
    return edge


@transaction.atomic
def relationship_delete(*, actor: Principal, relationship: Relationship) -> None:
    """Remove a declared relationship. Discovered ones follow the cluster: they go stale, then retire."""
    require(policy_for(Relationship).can_delete(actor, relationship), tenant=relationship.tenant)
    if relationship.provenance != Provenance.DECLARED:
        raise ApplicationError(NOT_DECLARED_MESSAGE, code=NOT_DECLARED)
    label = f"{relationship.source.name} {relationship.get_kind_display()} {relationship.target.name}"
    record(
        actor=actor,
        action=ChangeRecord.Action.DELETE,
        edge=relationship,
        before=edge_snapshot(relationship),
        summary=label,
    )
    audit_record(
        actor=actor,
        action="cmdb.relationship.delete",
        obj=relationship,
        tenant=relationship.tenant,
        object_display=label,
        changes={"kind": [relationship.kind, None]},
    )
    relationship.delete()
