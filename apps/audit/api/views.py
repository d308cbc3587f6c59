"""REST API for the audit trail: read-only, filterable, cursor-paginated."""

from rest_framework import viewsets

from apps.audit.filtersets import AuditEventFilterSet
from apps.audit.models import AuditEvent
from apps.tenants.api.base import TenantViewSetMixin

from .serializers import AuditEventSerializer


class AuditEventViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Your tenants' audit events, newest first (owners and admins)."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant")
