"""Filters of the catalog lists, shared by the API."""

import django_filters

from apps.tenants.filters import NamedFilter
from apps.tenants.models import Environment, promotion_order

from .models import Application, ComponentKind, Release, ServiceTemplate


class ApplicationFilterSet(django_filters.FilterSet):
    component_kind = django_filters.ChoiceFilter(choices=ComponentKind.choices)
    name = django_filters.CharFilter()

    class Meta:
        model = Application
        fields = ["component_kind", "name"]


class ApplicationListFilterSet(django_filters.FilterSet):
    """The applications page's filters: by name, kind, and the environment it runs in now."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    component_kind = django_filters.ChoiceFilter(choices=ComponentKind.choices, label="Kind", empty_label="Any kind")
    runs_in = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.none(),
        to_field_name="name",
        label="Runs in",
        empty_label="Anywhere",
        method="filter_runs_in",
    )

    class Meta:
        model = Application
        fields = ["q", "component_kind", "runs_in"]

    def __init__(self, data=None, queryset=None, *, tenant, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["runs_in"].queryset = Environment.objects.filter(tenant=tenant).order_by(*promotion_order())
        self.filters["runs_in"].field.label_from_instance = lambda environment: environment.name

    def filter_runs_in(self, queryset, name, environment):
        # Workloads (what the cluster runs) are kept by an app above the catalog: reached by name.
        running = environment.workloads.exclude(release=None).values("application_id")
        return queryset.filter(pk__in=running)


class ReleaseFilterSet(django_filters.FilterSet):
    # Not a model choice: an application id the caller cannot see reads as an empty list, exactly
    # like one that does not exist (see NamedFilter).
    application = NamedFilter(Application)

    class Meta:
        model = Release
        fields = ["application"]


class TemplateFilterSet(django_filters.FilterSet):
    slug = django_filters.CharFilter()
    component_kind = django_filters.ChoiceFilter(choices=ComponentKind.choices)

    class Meta:
        model = ServiceTemplate
        fields = ["slug", "component_kind", "is_active"]
