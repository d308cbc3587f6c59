"""Filters of the workload list: by names, as people say them, and by health and sync."""

import django_filters

from apps.core.api import IdFilter

from .models import Cause, Health, Incident, Sync, Workload


class WorkloadFilterSet(django_filters.FilterSet):
    application = django_filters.CharFilter(field_name="application__name")
    environment = django_filters.CharFilter(field_name="environment__name")
    health = django_filters.ChoiceFilter(choices=Health.choices)
    sync = django_filters.ChoiceFilter(choices=Sync.choices)
    id = IdFilter(field_name="id")

    class Meta:
        model = Workload
        fields = ["id", "application", "environment", "health", "sync"]


class IncidentFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Incident.State.choices)
    workload = IdFilter(field_name="workload_id")
    cause = django_filters.ChoiceFilter(choices=Cause.choices)

    class Meta:
        model = Incident
        fields = ["state", "workload", "cause"]
