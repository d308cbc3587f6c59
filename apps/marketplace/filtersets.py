"""Filters of the add-on lists: by names, as people say them, and by state."""

import django_filters

from apps.catalog.models import Application
from apps.tenants.filters import NamedFilter
from apps.tenants.models import Environment

from .models import BindingState, InstanceState, ServiceBinding, ServiceInstance


class ServiceInstanceFilterSet(django_filters.FilterSet):
    environment = NamedFilter(Environment)
    offering = django_filters.CharFilter(field_name="offering__slug")
    state = django_filters.ChoiceFilter(choices=InstanceState.choices)

    class Meta:
        model = ServiceInstance
        fields = ["environment", "offering", "state", "name"]


class ServiceBindingFilterSet(django_filters.FilterSet):
    instance = NamedFilter(ServiceInstance)
    application = NamedFilter(Application)
    state = django_filters.ChoiceFilter(choices=BindingState.choices)

    class Meta:
        model = ServiceBinding
        fields = ["instance", "application", "state"]
