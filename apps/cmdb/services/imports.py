"""Bulk import and export of a tenant's items, as CSV or JSON.

An import is one transaction: every row is applied through the same services as a single edit, each
in a savepoint. With a bad row nothing is kept, unless `skip_invalid` asks to keep the good rows; a
dry run applies everything and then rolls it all back, so its report is exactly what would change.
"""

from __future__ import annotations

import csv
import io
import json

from django.db import transaction

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.services import require

from ..models import CIType, ConfigurationItem
from .items import item_declare, item_update

COLUMNS = ["key", "type", "name", "description", "labels", "attributes"]
MAX_ROWS = 5000
BAD_FILE = "bad_file"
ROWS_INVALID = "rows_invalid"
BAD_FILE_MESSAGE = "The file is neither a JSON list of items nor a CSV with a header row."


def parse(content: str | bytes, fmt: str) -> list[dict]:
    """Rows of an uploaded file: JSON (a list of objects, or {"items": [...]}) or CSV whose labels
    and attributes columns hold JSON objects."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApplicationError("The file is not UTF-8 text.", code=BAD_FILE, field="file") from None
    if fmt == "json":
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise ApplicationError(f"The file is not valid JSON: {exc}.", code=BAD_FILE, field="file") from None
        rows = data.get("items") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ApplicationError(BAD_FILE_MESSAGE, code=BAD_FILE, field="file")
    else:
        reader = csv.DictReader(io.StringIO(content))
        if not reader.fieldnames or "name" not in reader.fieldnames:
            raise ApplicationError(BAD_FILE_MESSAGE, code=BAD_FILE, field="file")
        rows = list(reader)
    if len(rows) > MAX_ROWS:
        raise ApplicationError(f"Import at most {MAX_ROWS} rows at a time.", code=BAD_FILE, field="file")
    return rows


def _json_cell(value, column: str) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        raise ApplicationError(f"{column} is not a JSON object.", code="invalid", field=column) from None
    if not isinstance(parsed, dict):
        raise ApplicationError(f"{column} is not a JSON object.", code="invalid", field=column)
    return parsed


def _apply_row(actor, tenant: Tenant, row, types: dict) -> tuple[str, ConfigurationItem]:
    if not isinstance(row, dict):
        raise ApplicationError("Each row is an object.", code="invalid")
    ci_type = types.get(str(row.get("type") or "").strip())
    if ci_type is None:
        raise ApplicationError(f"“{row.get('type') or ''}” is not a CI type.", code="invalid", field="type")
    labels, attributes = _json_cell(row.get("labels"), "labels"), _json_cell(row.get("attributes"), "attributes")
    name, description = str(row.get("name") or ""), str(row.get("description") or "")
    existing = _existing(tenant, ci_type, row)
    if existing is None:
        return "create", item_declare(actor=actor, tenant=tenant, ci_type=ci_type, name=name, description=description,
                                      labels=labels, attributes=attributes, source="import")
    before = (existing.name, existing.description, existing.labels, existing.declared_attributes)
    item = item_update(actor=actor, item=existing, name=name, description=description, labels=labels,
                       attributes=attributes)
    after = (item.name, item.description, item.labels, item.declared_attributes)
    return ("unchanged" if before == after else "update"), item


def _existing(tenant: Tenant, ci_type: CIType, row: dict) -> ConfigurationItem | None:
    """The row's item: by key when given (an export's own column), else the one item of that type and
    name in the tenant."""
    items = ConfigurationItem.objects.filter(tenant=tenant).select_related("ci_type", "tenant")
    key = str(row.get("key") or "").strip()
    if key:
        item = items.filter(key=key).first()
        if item is None:
            raise ApplicationError(f"No item of yours has the key “{key}”.", code="invalid", field="key")
        return item
    matches = list(items.filter(ci_type=ci_type, name=str(row.get("name") or "").strip())[:2])
    if len(matches) > 1:
        raise ApplicationError("Several items have this type and name; give the key.", code="invalid", field="key")
    return matches[0] if matches else None


def items_import(*, actor, tenant: Tenant, rows: list, dry_run: bool = False,
                 skip_invalid: bool = False) -> dict:
    """Apply rows of items to the tenant; returns {"dry_run", "applied", "summary", "rows": [...]},
    one report per row: its number (from 1), action (create / update / unchanged / error), and for
    errors the field and message. Raises ROWS_INVALID (with the report) when a row is bad and
    `skip_invalid` is off: then nothing at all was imported."""
    require(policy_for(ConfigurationItem).can_add(actor, tenant), tenant=tenant)
    types = {ci_type.slug: ci_type for ci_type in CIType.objects.all()}
    report = []
    with transaction.atomic():
        for number, row in enumerate(rows, start=1):
            try:
                with transaction.atomic():
                    action, item = _apply_row(actor, tenant, row, types)
                report.append({"row": number, "action": action, "name": item.name, "id": None if dry_run else item.pk})
            except ApplicationError as exc:
                name = row.get("name", "") if isinstance(row, dict) else ""
                report.append({"row": number, "action": "error", "name": str(name or ""), "id": None,
                               "field": exc.field or "", "error": exc.message})
        failed = any(line["action"] == "error" for line in report)
        applied = not dry_run and (skip_invalid or not failed)
        if not applied:
            transaction.set_rollback(True)
    summary = {action: sum(1 for line in report if line["action"] == action)
               for action in ("create", "update", "unchanged", "error")}
    result = {"dry_run": dry_run, "applied": applied, "summary": summary, "rows": report}
    if failed and not skip_invalid and not dry_run:
        error = ApplicationError(f"{summary['error']} of {len(rows)} rows are invalid; nothing was imported. Fix "
                                 "them, or import with skip_invalid to keep the good rows.", code=ROWS_INVALID)
        error.report = result
        raise error
    return result


def export_rows(items) -> list[dict]:
    """The declared side of items, in the import's columns, so an export imports back unchanged."""
    return [{"key": item.key, "type": item.ci_type.slug, "name": item.name, "description": item.description,
             "labels": item.labels, "attributes": item.declared_attributes, "provenance": item.provenance,
             "status": item.status} for item in items]


def export_text(items, fmt: str) -> str:
    rows = export_rows(items)
    if fmt == "json":
        return json.dumps({"items": rows}, indent=2, sort_keys=True) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "provenance", "status"])
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "labels": json.dumps(row["labels"], sort_keys=True),
                         "attributes": json.dumps(row["attributes"], sort_keys=True)})
    return out.getvalue()
