"""Filters of the workload list: by names (or ids), as people say them, and by health and sync."""

import django_filters

from apps.catalog.models import Application
from apps.core.api import IdFilter
from apps.tenants.filters import NamedFilter
from apps.tenants.models import Environment

from .models import Cause, Health, Incident, Sync, Workload


class WorkloadFilterSet(django_filters.FilterSet):
    application = NamedFilter(Application)
    environment = NamedFilter(Environment)
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
