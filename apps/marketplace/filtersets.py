"""Filters of the add-on lists: by names, as people say them, and by state."""

import django_filters

from apps.core.api import IdFilter

from .models import BindingState, InstanceState, ServiceBinding, ServiceInstance


class ServiceInstanceFilterSet(django_filters.FilterSet):
    environment = django_filters.CharFilter(field_name="environment__name")
    offering = django_filters.CharFilter(field_name="offering__slug")
    state = django_filters.ChoiceFilter(choices=InstanceState.choices)

    class Meta:
        model = ServiceInstance
        fields = ["environment", "offering", "state", "name"]


class ServiceBindingFilterSet(django_filters.FilterSet):
    instance = IdFilter(field_name="instance_id")
    application = django_filters.CharFilter(field_name="application__name")
    state = django_filters.ChoiceFilter(choices=BindingState.choices)

    class Meta:
        model = ServiceBinding
        fields = ["instance", "application", "state"]
