"""Reads of workloads that pages and the API share."""

from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When

from apps.deployments.models import Formation

from .models import HEALTH_ORDER, Incident, Workload


def with_formation(rows):
    """Each workload with `formation`: the replicas a member set through the portal, which every release
    runs with (None: the live release's own). One subquery, whatever the number of rows."""
    kept = Formation.objects.filter(application=OuterRef("application"), environment=OuterRef("environment"))
    return rows.annotate(formation=Subquery(kept.values("replicas")[:1]))


def workload_list_for(principal, tenant=None, *, history: bool = False):
    """The workloads the principal may see, degraded first, then by application and environment. Their
    replica history (six hours of samples each) only with `history`: the workload page's chart is the
    one place that draws it, and a list of rows need not read it."""
    rows = Workload.objects.restrict(principal, "view")
    if not history:
        rows = rows.defer("replica_history")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    urgency = Case(
        *[When(health=health, then=Value(rank)) for rank, health in enumerate(HEALTH_ORDER)],
        output_field=IntegerField(),
    )
    return with_formation(rows.select_related("tenant", "application", "environment", "release")).order_by(
        urgency, "application__name", "environment__name"
    )


def incident_list_for(principal, tenant=None):
    """The incidents the principal may see, open ones first, newest first."""
    rows = Incident.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    related = ("tenant", "workload__application", "workload__environment", "workload__release", "acknowledged_by")
    return rows.select_related(*related, "resolved_by").order_by("-state", "-last_seen")


def incidents_everywhere(state: str = "open"):
    """Operators: incidents across every tenant (the operator console has no tenant chokepoint)."""
    rows = Incident.objects.select_related(
        "tenant", "workload__application", "workload__environment", "acknowledged_by", "resolved_by"
    )
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-last_seen")
