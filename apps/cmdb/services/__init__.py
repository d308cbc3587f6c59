"""Every change to the CMDB. Items and relationships (items.py), CI types (types.py), bulk import
and export (imports.py), the history they all write (history.py); catalog sync lives in sync.py and
discovery in discovery.py, both writing through the same history."""

from .import_jobs import import_job_run, import_submit
from .imports import export_text, items_import, parse
from .items import (
    CROSS_TENANT,
    DUPLICATE,
    NOT_DECLARED,
    PLATFORM_ONLY,
    PLATFORM_TYPE,
    SCHEMA_VIOLATION,
    SELF_RELATION,
    item_declare,
    item_delete,
    item_update,
    relationship_declare,
    relationship_delete,
)
from .types import type_create, type_update

__all__ = [
    "CROSS_TENANT",
    "DUPLICATE",
    "NOT_DECLARED",
    "PLATFORM_ONLY",
    "PLATFORM_TYPE",
    "SCHEMA_VIOLATION",
    "SELF_RELATION",
    "export_text",
    "import_job_run",
    "import_submit",
    "item_declare",
    "item_delete",
    "item_update",
    "items_import",
    "parse",
    "relationship_declare",
    "relationship_delete",
    "type_create",
    "type_update",
]
