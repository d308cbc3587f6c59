"""CMDB search, shared by the list page, saved filters and the API: by name, type, attribute value,
label, provenance and status."""

from __future__ import annotations

import json

import django_filters
from django.db.models import Q

from apps.core.api import IdFilter

from .choices import Provenance, RelationKind, Status
from .models import ChangeRecord, ConfigurationItem, Relationship

SEARCH_FIELDS = ("q", "type", "provenance", "status", "label", "attribute")


def _pair(value: str) -> tuple[str, object] | None:
    """ "name=value" -> (name, value); the value as JSON when it parses (3, true), else as text."""
    name, sep, raw = (value or "").partition("=")
    if not sep or not name.strip():
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw
    return name.strip(), parsed


class ItemFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name or key contains")
    type = django_filters.CharFilter(field_name="ci_type__slug", label="Type (slug)")
    provenance = django_filters.ChoiceFilter(choices=Provenance.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    label = django_filters.CharFilter(method="filter_label", label="Label name=value")
    attribute = django_filters.CharFilter(method="filter_attribute", label="Attribute name=value")
    platform = django_filters.BooleanFilter(field_name="tenant", lookup_expr="isnull", label="Platform items only")

    class Meta:
        model = ConfigurationItem
        fields = ["q", "type", "provenance", "status", "label", "attribute", "platform"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value)) if value else queryset

    def filter_label(self, queryset, name, value):
        pair = _pair(value)
        if pair is None:
            return queryset.filter(
                Q(labels__has_key=value.strip()) | Q(discovered_attributes__labels__has_key=value.strip())
            )
        key, wanted = pair
        wanted = str(wanted) if not isinstance(wanted, str) else wanted
        return queryset.filter(
            Q(labels__contains={key: wanted}) | Q(discovered_attributes__contains={"labels": {key: wanted}})
        )

    def filter_attribute(self, queryset, name, value):
        pair = _pair(value)
        if pair is None:
            return queryset.filter(
                Q(declared_attributes__has_key=value.strip()) | Q(discovered_attributes__has_key=value.strip())
            )
        key, wanted = pair
        choices = [wanted] if isinstance(wanted, str) else [wanted, str(wanted)]
        match = Q()
        for each in choices:
            match |= Q(declared_attributes__contains={key: each}) | Q(discovered_attributes__contains={key: each})
        return queryset.filter(match)


class RelationshipFilterSet(django_filters.FilterSet):
    # By id, not as a model choice: an item the caller cannot see reads as an empty list.
    item = IdFilter(method="filter_item", label="Either end is this item")
    source = IdFilter(field_name="source_id")
    target = IdFilter(field_name="target_id")
    kind = django_filters.ChoiceFilter(choices=RelationKind.choices)
    provenance = django_filters.ChoiceFilter(choices=Provenance.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)

    class Meta:
        model = Relationship
        fields = ["item", "source", "target", "kind", "provenance", "status"]

    def filter_item(self, queryset, name, value):
        return queryset.filter(Q(source_id=value) | Q(target_id=value))


class HistoryFilterSet(django_filters.FilterSet):
    item = IdFilter(method="filter_item", label="Changes of this item or its relationships")
    action = django_filters.ChoiceFilter(choices=ChangeRecord.Action.choices)

    class Meta:
        model = ChangeRecord
        fields = ["item", "action"]

    def filter_item(self, queryset, name, value):
        return queryset.filter(Q(item_id=value) | Q(other_item_id=value))
