"""Blocks of deployment state that other apps' pages include, and the look of a deployment page's live pods.
static/js/deployments-overview.js keeps the blocks moving as events arrive; static/js/deployment-pods.js
reads the pods again from the API when a pod or rollout event says they changed."""

from django import template

from apps.tenants.models import Environment, promotion_order

from ..selectors import latest_deployments_for
from ..serving import serving_of_many

register = template.Library()

# How a pod's state (apps/deployments/pods.py) looks on the page: the badge tone.
POD_TONES = {
    "ready": "text-bg-success",
    "starting": "text-bg-secondary",
    "terminating": "text-bg-light border",
    "image pull error": "text-bg-danger",
    "crash loop": "text-bg-danger",
}


# The tenant overview shows the places deployed to most recently; the deployments page has the rest.
OVERVIEW_SLOTS = 10


@register.inclusion_tag("deployments/_latest.html", takes_context=True)
def latest_deployments(context, application=None):
    """One row per (application, environment) with its newest deployment and what serves there now (read
    from the cluster, by the lifecycle watcher that leads now or else by this request: after a switch
    back that is not the newest deployment's release). On an application's page every environment gets
    a row, so a first deployment has a place to appear; on the overview the OVERVIEW_SLOTS places
    deployed to most recently, newest first."""
    request, tenant = context["request"], context["tenant"]
    overview = application is None
    newest = list(latest_deployments_for(request, tenant, application, limit=OVERVIEW_SLOTS + 1 if overview else None))
    more = overview and len(newest) > OVERVIEW_SLOTS
    if overview:
        newest = newest[:OVERVIEW_SLOTS]
    serving = serving_of_many(((d.application, d.environment) for d in newest), watched=True)
    rows = [
        {
            "application": d.application,
            "environment": d.environment,
            "deployment": d,
            "serving": serving[d.application.pk, d.environment.pk],
        }
        for d in newest
    ]
    if application is not None:
        by_environment = {row["environment"].pk: row for row in rows}
        rows = [
            by_environment.get(environment.pk, {"application": application, "environment": environment})
            for environment in Environment.objects.restrict(request, "view")
            .filter(tenant=tenant)
            .order_by(*promotion_order())
        ]
    return {
        "tenant": tenant,
        "application": application,
        "rows": rows,
        "slots": overview and OVERVIEW_SLOTS,
        "more": more,
    }


@register.filter
def pod_tone(state: str) -> str:
    """The badge tone of a pod state; static/js/deployment-pods.js keeps the same table."""
    return POD_TONES.get(state, "text-bg-secondary")
