"""Reads of workloads that pages and the API share."""

from django.db.models import Case, IntegerField, Value, When

from .models import HEALTH_ORDER, Workload


def workload_list_for(principal, tenant=None):
    """The workloads the principal may see, degraded first, then by application and environment."""
    rows = Workload.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    urgency = Case(
        *[When(health=health, then=Value(rank)) for rank, health in enumerate(HEALTH_ORDER)],
        output_field=IntegerField(),
    )
    return rows.select_related("tenant", "application", "environment", "release").order_by(
        urgency, "application__name", "environment__name"
    )
