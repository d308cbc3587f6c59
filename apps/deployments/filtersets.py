"""Filters of the deployments list page: application, environment, state, strategy and who asked.
Values are names and emails, so a filtered list's address reads as what it shows and can be shared."""

import django_filters
from django.contrib.auth import get_user_model

from apps.catalog.models import Application
from apps.tenants.filters import NamedFilter
from apps.tenants.models import Environment, promotion_order

from .choices import State, Strategy
from .models import Deployment, DeploySettings


class DeploymentFilterSet(django_filters.FilterSet):
    application = django_filters.ModelChoiceFilter(
        queryset=Application.objects.none(), to_field_name="name", empty_label="Any application"
    )
    environment = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.none(), to_field_name="name", empty_label="Any environment"
    )
    state = django_filters.ChoiceFilter(choices=State.choices, empty_label="Any state")
    strategy = django_filters.ChoiceFilter(choices=Strategy.choices, empty_label="Any strategy")
    who = django_filters.ModelChoiceFilter(
        field_name="requested_by",
        queryset=get_user_model().objects.none(),
        to_field_name="email",
        label="Requested by",
        empty_label="Anyone",
    )

    class Meta:
        model = Deployment
        fields = ["application", "environment", "state", "strategy", "who"]

    def __init__(self, data=None, queryset=None, *, tenant, **kwargs):
        super().__init__(data, queryset, **kwargs)
        # The choices are names and emails (see label_from_instance): only those columns are read.
        self.filters["application"].queryset = Application.objects.filter(tenant=tenant).order_by("name").only("name")
        self.filters["environment"].queryset = (
            Environment.objects.filter(tenant=tenant).order_by(*promotion_order()).only("name")
        )
        self.filters["who"].queryset = (
            get_user_model().objects.filter(memberships__tenant=tenant).order_by("email").distinct().only("email")
        )
        for name, label in (("application", "name"), ("environment", "name"), ("who", "email")):
            self.filters[name].field.label_from_instance = lambda row, label=label: getattr(row, label)


class DeploymentAPIFilterSet(django_filters.FilterSet):
    """The API's `?application=`, `?environment=` (each by id or name) and `?state=`."""

    application = NamedFilter(Application)
    environment = NamedFilter(Environment)

    class Meta:
        model = Deployment
        fields = ["state", "environment", "application"]


class DeploySettingsFilterSet(django_filters.FilterSet):
    """`?environment=` by name or id (see NamedFilter)."""

    environment = NamedFilter(Environment)

    class Meta:
        model = DeploySettings
        fields = ["environment"]
