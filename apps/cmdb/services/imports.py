"""Bulk import and export of a tenant's items, as CSV or JSON.

An import is one transaction: every row is applied through the same services as a single edit, each
in a savepoint. With a bad row nothing is kept, unless `skip_invalid` asks to keep the good rows; a
dry run applies everything and then rolls it all back, so its report is exactly what would change.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from apps.core.csvfiles import cell_text, csv_text
from apps.core.errors import ApplicationError, require
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from ..models import CIType, ConfigurationItem
from .items import item_declare, item_update, storable

COLUMNS = ["key", "type", "name", "description", "labels", "attributes"]
BAD_FILE = "bad_file"
ROWS_INVALID = "rows_invalid"
FILE_TOO_LARGE = "file_too_large"
TOO_MANY_ROWS = "too_many_rows"
BAD_FILE_MESSAGE = "The file is neither a JSON list of items nor a CSV with a header row."

# Limits, from settings (see `limit`): the largest upload, the most rows of one import, and the most
# rows answered while the request waits; larger imports run as a background job.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000
DEFAULT_SYNC_ROWS = 500
PROGRESS_EVERY = 50
FRAMING_ALLOWANCE = 64 * 1024  # multipart boundaries and form fields around an upload


class RowsInvalid(ApplicationError):
    """ROWS_INVALID: some rows are bad and nothing was imported; `report` says which, row by row."""

    def __init__(self, message: str, *, report: dict):
        super().__init__(message, code=ROWS_INVALID)
        self.report = report


def limit(name: str) -> int:
    """CMDB_IMPORT_MAX_BYTES, CMDB_IMPORT_MAX_ROWS or CMDB_IMPORT_SYNC_ROWS, with its default."""
    return int(getattr(settings, f"CMDB_IMPORT_{name}", globals()[f"DEFAULT_{name}"]))


def size_check(size: int | None) -> None:
    """Refuse an upload over CMDB_IMPORT_MAX_BYTES with 413, before reading more of it when the size
    is known up front (Content-Length)."""
    most = limit("MAX_BYTES")
    if size is not None and size > most:
        raise ApplicationError(
            f"Upload at most {_size(most)} at a time (CMDB_IMPORT_MAX_BYTES); split the file.",
            code=FILE_TOO_LARGE,
            status=413,
            field="file",
        )


def rows_check(count: int) -> None:
    most = limit("MAX_ROWS")
    if count > most:
        raise ApplicationError(
            f"Import at most {most} rows at a time (CMDB_IMPORT_MAX_ROWS); split the file.",
            code=TOO_MANY_ROWS,
            field="file",
        )


def _size(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size % (1024 * 1024) == 0 else f"{size // 1024} KiB"


def file_format(filename: str) -> str:
    """json for a .json upload, else csv."""
    return "json" if (filename or "").lower().endswith(".json") else "csv"


def parse(content: str | bytes, fmt: str) -> list[dict]:
    """Rows of an uploaded file: JSON (a list of objects, or {"items": [...]}) or CSV whose labels
    and attributes columns hold JSON objects. Refuses files and row counts over the limits."""
    if isinstance(content, bytes):
        size_check(len(content))
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApplicationError("The file is not UTF-8 text.", code=BAD_FILE, field="file") from None
    else:
        size_check(len(content.encode()))
    rows = _json_rows(content) if fmt == "json" else _csv_rows(content)
    rows_check(len(rows))
    return rows


def _json_rows(content: str) -> list:
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise ApplicationError(f"The file is not valid JSON: {exc}.", code=BAD_FILE, field="file") from None
    except RecursionError:
        raise ApplicationError("The file nests JSON too deeply.", code=BAD_FILE, field="file") from None
    rows = data.get("items") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ApplicationError(BAD_FILE_MESSAGE, code=BAD_FILE, field="file")
    return rows


def _csv_rows(content: str) -> list[dict]:
    """The CSV's rows as dicts, cells unquoted as our own export quotes them (see apps.core.csvfiles).
    Stops one row past the limit; a cell over the csv module's field limit is a 400 naming the row."""
    reader = csv.DictReader(io.StringIO(content))
    rows: list[dict] = []
    header = False
    try:
        if not reader.fieldnames or "name" not in reader.fieldnames:
            raise ApplicationError(BAD_FILE_MESSAGE, code=BAD_FILE, field="file")
        header = True
        for row in reader:
            rows.append({key: cell_text(value) if isinstance(value, str) else value for key, value in row.items()})
            if len(rows) > limit("MAX_ROWS"):
                break
    except csv.Error as exc:
        where = f"Row {len(rows) + 1}" if header else "The header row"
        if "field larger than field limit" in str(exc):
            detail = f"{where} has a cell over {_size(csv.field_size_limit())}, the most one cell may hold."
        else:
            detail = f"{where} is not valid CSV: {exc}."
        raise ApplicationError(detail, code=BAD_FILE, field="file") from None
    return rows


def _json_cell(value, column: str) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        raise ApplicationError(f"{column} is not a JSON object.", code="invalid", field=column) from None
    if not isinstance(parsed, dict):
        raise ApplicationError(f"{column} is not a JSON object.", code="invalid", field=column)
    return parsed


def _apply_row(actor: Principal, tenant: Tenant, row, types: dict) -> tuple[str, ConfigurationItem]:
    if not isinstance(row, dict):
        raise ApplicationError("Each row is an object.", code="invalid")
    for column in ("key", "type", "name"):  # looked up before any service checks them
        storable(str(row.get(column) or ""), column)
    ci_type = types.get(str(row.get("type") or "").strip())
    if ci_type is None:
        raise ApplicationError(f"“{row.get('type') or ''}” is not a CI type.", code="invalid", field="type")
    labels, attributes = _json_cell(row.get("labels"), "labels"), _json_cell(row.get("attributes"), "attributes")
    name, description = str(row.get("name") or ""), str(row.get("description") or "")
    existing = _existing(tenant, ci_type, row)
    if existing is None:
        return "create", item_declare(
            actor=actor,
            tenant=tenant,
            ci_type=ci_type,
            name=name,
            description=description,
            labels=labels,
            attributes=attributes,
            source="import",
        )
    before = (existing.name, existing.description, existing.labels, existing.declared_attributes)
    item = item_update(
        actor=actor, item=existing, name=name, description=description, labels=labels, attributes=attributes
    )
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


def items_import(
    *,
    actor: Principal,
    tenant: Tenant,
    rows: list,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Apply rows of items to the tenant; returns {"dry_run", "applied", "summary", "rows": [...]},
    one report per row: its number (from 1), action (create / update / unchanged / error), and for
    errors the field and message. Raises ROWS_INVALID (with the report) when a row is bad and
    `skip_invalid` is off: then nothing at all was imported. `progress(rows done)` is called every
    PROGRESS_EVERY rows, for background jobs."""
    require(policy_for(ConfigurationItem).can_add(actor, tenant), tenant=tenant)
    rows_check(len(rows))
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
                report.append(
                    {
                        "row": number,
                        "action": "error",
                        "name": _printable(name),
                        "id": None,
                        "field": exc.field or "",
                        "error": exc.message,
                    }
                )
            if progress is not None and number % PROGRESS_EVERY == 0:
                progress(number)
        failed = any(line["action"] == "error" for line in report)
        applied = not dry_run and (skip_invalid or not failed)
        if not applied:
            transaction.set_rollback(True)
    summary = {
        action: sum(1 for line in report if line["action"] == action)
        for action in ("create", "update", "unchanged", "error")
    }
    result = {"dry_run": dry_run, "applied": applied, "summary": summary, "rows": report}
    if failed and not skip_invalid and not dry_run:
        raise RowsInvalid(
            f"{summary['error']} of {len(rows)} rows are invalid; nothing was imported. Fix "
            "them, or import with skip_invalid to keep the good rows.",
            report=result,
        )
    return result


def _printable(name) -> str:
    """A row's name for its report line, which is stored for background jobs and sent as UTF-8: no NUL
    characters and no lone surrogates (each becomes U+FFFD)."""
    return str(name or "").replace("\x00", "\ufffd").encode(errors="surrogatepass").decode(errors="replace")


def export_rows(items) -> list[dict]:
    """The declared side of items, in the import's columns, so an export imports back unchanged."""
    return [
        {
            "key": item.key,
            "type": item.ci_type.slug,
            "name": item.name,
            "description": item.description,
            "labels": item.labels,
            "attributes": item.declared_attributes,
            "provenance": item.provenance,
            "status": item.status,
        }
        for item in items
    ]


def export_text(items, fmt: str) -> str:
    """Items as JSON, or as CSV through the one spreadsheet-safe writer (names and descriptions are
    people's text and may start a formula; the import undoes the writer's quoting)."""
    rows = export_rows(items)
    if fmt == "json":
        return json.dumps({"items": rows}, indent=2, sort_keys=True) + "\n"
    return csv_text([*COLUMNS, "provenance", "status"], rows)
