"""Reading the audit trail a page at a time."""

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from .models import AuditEvent

PAGE_SIZE = 50


@dataclass
class TrailPage:
    events: list[AuditEvent]
    older: int | None  # the id to continue before, when there are older events


def event_list_for(principal: Principal, *, tenant: Tenant) -> QuerySet[AuditEvent]:
    """The tenant's audit events the principal may read, unordered and unfiltered."""
    return AuditEvent.objects.restrict(principal, "view").filter(tenant=tenant)


def trail_page(events, *, before: str | None = None) -> TrailPage:
    """Newest first, keyset-paginated on id, so deep pages cost the same as the first."""
    if before and before.isdigit():
        events = events.filter(id__lt=int(before))
    rows = list(events.select_related("tenant").order_by("-id")[: PAGE_SIZE + 1])
    older = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    return TrailPage(rows[:PAGE_SIZE], older)


def events_of_the_platform() -> QuerySet[AuditEvent]:
    """Every audit event, platform events included, for the operator console (its views decided who asks)."""
    return AuditEvent.objects.select_related("tenant")
