"""CI types: the vocabulary of the CMDB, defined by operators."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.tenants.models import SLUG_VALIDATOR
from apps.tenants.principals import Principal

from ..models import CIType
from ..policies import type_policy
from .items import INVALID, attributes_check, refuse

SLUG_TAKEN = "slug_taken"
SCHEMA_INVALID = "schema_invalid"
ONLY_OPERATORS = "Only platform operators define CI types."


def schema_check(schema) -> dict:
    """A JSON schema of an object; an empty one accepts any attributes."""
    if not isinstance(schema, dict):
        raise refuse("attribute_schema", "The attribute schema is a JSON object.", SCHEMA_INVALID)
    if not schema:
        return schema
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        raise refuse("attribute_schema", f"Not a valid JSON schema: {exc.message}.", SCHEMA_INVALID) from None
    if schema.get("type") != "object":
        raise refuse("attribute_schema", 'The schema describes an object: give "type": "object".', SCHEMA_INVALID)
    return schema


@transaction.atomic
def type_create(
    *,
    operator: Principal,
    slug: str,
    name: str,
    description: str = "",
    attribute_schema: dict | None = None,
    is_platform: bool = False,
) -> CIType:
    """Define a CI type. Its schema applies to the declared attributes of every item of it."""
    require(type_policy.can_add(operator), ONLY_OPERATORS)
    slug = (slug or "").strip().lower()
    try:
        SLUG_VALIDATOR(slug)
    except ValidationError as exc:
        raise refuse("slug", exc.messages[0]) from None
    if CIType.objects.filter(slug=slug).exists():
        raise ApplicationError(f"There is already a CI type “{slug}”.", code=SLUG_TAKEN, field="slug")
    if not (name or "").strip():
        raise refuse("name", "Give the type a name.")
    ci_type = CIType.objects.create(
        slug=slug,
        name=name.strip(),
        description=(description or "").strip(),
        attribute_schema=schema_check(attribute_schema or {}),
        is_platform=is_platform,
    )
    audit_record(actor=operator, action="cmdb.type.create", obj=ci_type, changes={"slug": [None, slug]})
    return ci_type


@transaction.atomic
def type_update(
    *,
    operator: Principal,
    ci_type: CIType,
    name: str | None = None,
    description: str | None = None,
    attribute_schema: dict | None = None,
) -> CIType:
    """Rename or re-describe a type, or change its schema: every declared item must still satisfy it."""
    require(type_policy.can_change(operator), ONLY_OPERATORS)
    before = {"name": ci_type.name, "attribute_schema": ci_type.attribute_schema}
    if name is not None:
        if not name.strip():
            raise refuse("name", "Give the type a name.")
        ci_type.name = name.strip()
    if description is not None:
        ci_type.description = description.strip()
    if attribute_schema is not None:
        ci_type.attribute_schema = schema_check(attribute_schema)
        for item in ci_type.items.exclude(declared_attributes={}).only("name", "declared_attributes").iterator():
            try:
                attributes_check(ci_type, item.declared_attributes)
            except ApplicationError as exc:
                raise refuse(
                    "attribute_schema", f"{item.name} would no longer fit: {exc.message}", SCHEMA_INVALID
                ) from None
    ci_type.save()
    audit_record(
        actor=operator,
        action="cmdb.type.update",
        obj=ci_type,
        changes={
            key: [value, getattr(ci_type, key)] for key, value in before.items() if value != getattr(ci_type, key)
        },
    )
    return ci_type


__all__ = ["INVALID", "SCHEMA_INVALID", "SLUG_TAKEN", "type_create", "type_update"]
