"""Reads of workloads that pages and the API share."""

from django.db.models import Case, IntegerField, Value, When

from .models import HEALTH_ORDER, Incident, Workload


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


def incident_list_for(principal, tenant=None):
    """The incidents the principal may see, open ones first, newest first."""
    rows = Incident.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    return rows.select_related("tenant", "workload__application", "workload__environment", "acknowledged_by").order_by(
        "-state", "-last_seen"
    )


def incidents_everywhere(state: str = "open"):
    """Operators: incidents across every tenant (the operator console has no tenant chokepoint)."""
    rows = Incident.objects.select_related("tenant", "workload__application", "workload__environment")
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-last_seen")
