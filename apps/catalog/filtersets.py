"""Filters of the catalog lists, shared by the API."""

import django_filters

from apps.core.api import IdFilter

from .models import Application, ComponentKind, Release, ServiceTemplate


class ApplicationFilterSet(django_filters.FilterSet):
    component_kind = django_filters.ChoiceFilter(choices=ComponentKind.choices)
    name = django_filters.CharFilter()

    class Meta:
        model = Application
        fields = ["component_kind", "name"]


class ReleaseFilterSet(django_filters.FilterSet):
    # By id, not as a model choice: an application the caller cannot see then reads as an empty
    # list, exactly like one that does not exist.
    application = IdFilter(field_name="application_id")

    class Meta:
        model = Release
        fields = ["application"]


class TemplateFilterSet(django_filters.FilterSet):
    slug = django_filters.CharFilter()
    component_kind = django_filters.ChoiceFilter(choices=ComponentKind.choices)

    class Meta:
        model = ServiceTemplate
        fields = ["slug", "component_kind", "is_active"]
