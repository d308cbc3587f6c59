"""Reads of deployment data that pages and the API share."""

from django.db.models import OuterRef, Subquery

from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from .models import Deployment, DeploymentEvent

EVENTS_PAGE_MAX = 1000


def referable(model, principal):
    """Rows a deploy request may name: those of the caller's tenants. Like a tenant "reference", this
    only makes the row nameable; the deployment policy then decides whether the deploy is allowed."""
    return model.objects.filter(tenant_id__in=as_principal(principal).tenant_ids(Role.VIEWER))


def deployment_list_for(principal, tenant=None):
    """The deployments the principal may see, newest first, ready for a list without extra queries."""
    rows = Deployment.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    return rows.select_related("tenant", "application", "release", "environment", "requested_by").order_by("-id")


def events_after(deployment: Deployment, after_seq: int = 0, limit: int = EVENTS_PAGE_MAX):
    """Events of a deployment after `after_seq`, in seq order: what a page asks for after a reconnect."""
    return DeploymentEvent.objects.filter(deployment=deployment, seq__gt=after_seq).order_by("seq")[:limit]


def latest_deployments_for(principal, tenant, application=None):
    """The newest deployment of each (application, environment) the principal may see, with the message
    of its newest event: what the overview and application pages show, and the live script then moves."""
    newest_message = DeploymentEvent.objects.filter(deployment=OuterRef("pk")).order_by("-seq").values("message")[:1]
    rows = Deployment.objects.restrict(principal, "view").filter(tenant=tenant)
    if application is not None:
        rows = rows.filter(application=application)
    return (rows.select_related("application", "release", "environment")
            .annotate(latest_message=Subquery(newest_message))
            .order_by("application__name", "environment__name", "application_id", "environment_id", "-id")
            .distinct("application__name", "environment__name", "application_id", "environment_id"))
