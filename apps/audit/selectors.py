"""Reading the audit trail a page at a time."""

from django.db.models import QuerySet

from apps.core.paging import Page, newest_first
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from .models import AuditEvent

PAGE_SIZE = 50


def event_list_for(principal: Principal, *, tenant: Tenant) -> QuerySet[AuditEvent]:
    """The tenant's audit events the principal may read, unordered and unfiltered."""
    return AuditEvent.objects.restrict(principal, "view").filter(tenant=tenant)


def trail_page(events, *, before: str | None = None) -> Page:
    """Newest first, a page at a time."""
    return newest_first(events.select_related("tenant"), before=before, size=PAGE_SIZE)


def events_of_the_platform() -> QuerySet[AuditEvent]:
    """Every audit event, platform events included, for the operator console (its views decided who asks)."""
    return AuditEvent.objects.select_related("tenant")
