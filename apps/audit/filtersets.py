"""Audit filters shared by the tenant page, the operator page and the API."""

import django_filters

from .models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_display", lookup_expr="icontains", label="Actor")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action")
    object_type = django_filters.CharFilter(field_name="object_type", label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", label="Object id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="From")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="To")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "created_after", "created_before"]
