"""CSV and JSON downloads of a filtered audit trail."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone

from apps.core.csvfiles import write_csv

EXPORT_LIMIT = 10_000
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
COLUMNS = ["time", "tenant", "actor", "action", "object_type", "object_id", "object", "changes", "ip", "request_id"]


def _row(event) -> dict:
    return {
        "time": event.created_at.isoformat(),
        "tenant": event.tenant.slug if event.tenant else "",
        "actor": event.actor_display,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object": event.object_display,
        "changes": event.changes,
        "ip": event.ip or "",
        "request_id": event.request_id,
    }


def export_response(events, fmt: str, *, name: str) -> HttpResponse:
    """The newest EXPORT_LIMIT events as a download named `<name>-<time>.<fmt>`."""
    rows = [_row(event) for event in events.select_related("tenant").order_by("-id")[:EXPORT_LIMIT]]
    response = HttpResponse(content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.{fmt}"'
    if fmt == "csv":
        write_csv(response, COLUMNS, rows)  # names and emails are user-chosen: the writer defuses formulas
    else:
        response.write(json.dumps(rows, cls=DjangoJSONEncoder, indent=1))
    return response
