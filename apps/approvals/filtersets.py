"""Filters of the approval lists: environments by id or name."""

import django_filters

from apps.core.api import IdFilter
from apps.tenants.filters import NamedFilter
from apps.tenants.models import Environment

from .models import ApprovalPolicy, ChangeRequest, FreezeWindow


class ApprovalPolicyFilterSet(django_filters.FilterSet):
    environment = NamedFilter(Environment)

    class Meta:
        model = ApprovalPolicy
        fields = ["environment"]


class FreezeWindowFilterSet(django_filters.FilterSet):
    environment = NamedFilter(Environment)

    class Meta:
        model = FreezeWindow
        fields = ["environment", "recurrence"]


class ChangeRequestFilterSet(django_filters.FilterSet):
    environment = NamedFilter(Environment)
    deployment = IdFilter(field_name="deployment_id")

    class Meta:
        model = ChangeRequest
        fields = ["state", "kind", "environment", "deployment"]
