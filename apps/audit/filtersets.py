"""Audit filters shared by the tenant page, the operator page and the API."""

import django_filters
from django import forms

from apps.core.policies import registered_models

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


def object_type_choices() -> list[tuple[str, str]]:
    """Every model with a policy can appear in the trail, under the label the trail stores."""
    return sorted((m._meta.label_lower, m._meta.verbose_name.capitalize()) for m in registered_models())


class AuditTrailFilterSet(AuditEventFilterSet):
    """The pages' variant: object types from a list, and calendar dates with both ends included."""

    actor = django_filters.CharFilter(field_name="actor_display", lookup_expr="icontains", label="Actor email contains")
    action = django_filters.CharFilter(
        field_name="action",
        lookup_expr="startswith",
        label="Action",
        widget=forms.TextInput(attrs={"placeholder": "member or member.remove"}),
    )
    object_type = django_filters.ChoiceFilter(choices=object_type_choices, label="Object type", empty_label="Any")
    object_id = None
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta(AuditEventFilterSet.Meta):
        fields = ["actor", "action", "object_type", "created_after", "created_before"]


class PlatformAuditTrailFilterSet(AuditTrailFilterSet):
    """The operator console also narrows by tenant; platform events have none."""

    tenant = django_filters.CharFilter(field_name="tenant__slug", label="Tenant slug")

    class Meta(AuditTrailFilterSet.Meta):
        fields = ["tenant", *AuditTrailFilterSet.Meta.fields]
