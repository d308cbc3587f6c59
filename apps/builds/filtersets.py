"""Filters of the build list."""

import django_filters

from apps.catalog.models import Application
from apps.tenants.filters import NamedFilter

from .models import Build


class BuildFilterSet(django_filters.FilterSet):
    application = NamedFilter(Application)

    class Meta:
        model = Build
        fields = ["state", "application"]
