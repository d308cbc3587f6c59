"""Blocks of deployment state that other apps' pages include, and the pod view of a deployment page.
static/js/deployments-overview.js and static/js/deployment-pods.js keep them moving as events arrive."""

from django import template

from apps.tenants.models import Environment

from ..choices import EventKind
from ..selectors import latest_deployments_for

register = template.Library()

# What a pod observation's key says about the pod: (label, badge tone). Restarts are "restarts:<n>".
POD_LOOKS = {
    "created": ("starting", "text-bg-secondary"), "ready": ("ready", "text-bg-success"),
    "pull-error": ("image pull error", "text-bg-danger"), "crash-loop": ("crash loop", "text-bg-danger"),
    "restarts": ("restarted", "text-bg-warning"),
}


@register.inclusion_tag("deployments/_latest.html", takes_context=True)
def latest_deployments(context, application=None):
    """One row per (application, environment) with its newest deployment; on an application's page
    every environment gets a row, so a first deployment has a place to appear."""
    request, tenant = context["request"], context["tenant"]
    newest = list(latest_deployments_for(request, tenant, application))
    rows = [{"application": d.application, "environment": d.environment, "deployment": d} for d in newest]
    if application is not None:
        by_environment = {row["environment"].pk: row for row in rows}
        rows = [by_environment.get(environment.pk, {"application": application, "environment": environment})
                for environment in Environment.objects.restrict(request, "view").filter(tenant=tenant)
                .order_by("name")]
    return {"tenant": tenant, "application": application, "rows": rows}


@register.simple_tag
def pod_status(events) -> list[dict]:
    """Each pod's newest observation, in the order the pods first appeared."""
    pods: dict[str, dict] = {}
    for event in events:
        if event.kind != EventKind.POD or event.key.count(":") < 2:
            continue
        _, name, what = event.key.split(":", 2)
        label, tone = POD_LOOKS.get(what.split(":")[0], (what, "text-bg-secondary"))
        pods[name] = {"name": name, "label": label, "tone": tone, "message": event.message, "seq": event.seq}
    return list(pods.values())
