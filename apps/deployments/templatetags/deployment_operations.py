"""The day-2 operations card of a deployment page: which buttons the viewer gets for this deployment."""

from django import template

from apps.core.policies import policy_for
from apps.tenants.roles import Role

from ..choices import State, Strategy
from ..forms import PromoteForm
from ..models import Deployment
from ..selectors import live_deployment

register = template.Library()


@register.inclusion_tag("deployments/_operations.html", takes_context=True)
def deployment_operations(context, deployment):
    """Pause or resume for a rolling update in flight, scale and restart for what runs now, promote for a
    release that succeeded, remove for the app."""
    request = context["request"]
    may_change = policy_for(Deployment).can_change(request, deployment)
    live = may_change and live_deployment(deployment.application_id, deployment.environment_id)
    is_live = bool(live) and live.pk == deployment.pk and deployment.application.component_kind != "cron"
    return {
        "tenant": context["tenant"],
        "csrf_token": context.get("csrf_token"),
        "deployment": deployment,
        "may_change": may_change,
        "is_live": is_live,
        "pausable": deployment.state == State.PROGRESSING
        and deployment.strategy == Strategy.ROLLING
        and deployment.application.component_kind != "cron",
        "promote_form": PromoteForm(deployment=deployment, role=context.get("role"))
        if deployment.state == State.SUCCEEDED
        else None,
        "is_owner": context.get("role") == Role.OWNER,
    }
