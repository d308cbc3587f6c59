"""Usage filters shared by the usage page, its CSV export and the API."""

import django_filters
from django import forms

from apps.core.api import IdFilter

from .models import UsageDaily


class UsageDailyFilterSet(django_filters.FilterSet):
    key = IdFilter(field_name="api_key_id", label="API key", help_text="The key's id.")
    endpoint = django_filters.CharFilter(field_name="endpoint", lookup_expr="icontains", label="Endpoint contains")
    since = django_filters.DateFilter(
        field_name="day", lookup_expr="gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        field_name="day", lookup_expr="lte", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = UsageDaily
        fields = ["key", "endpoint", "since", "until"]
