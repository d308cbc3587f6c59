"""The canary step indicator and the Continue / Switch back buttons of the deployment page."""

from django import template
from django.utils import timezone

from apps.core.policies import policy_for

from ..choices import State, Strategy
from ..models import Deployment
from ..strategies.plan import canary_rule, rule_text, steps_of

register = template.Library()


def canary_steps(deployment: Deployment) -> list[dict]:
    """Each step with its weight, done, current (waiting or not) or to come."""
    finished = deployment.state == State.SUCCEEDED
    return [
        {
            "number": i,
            "weight": weight,
            "status": "done" if finished or i < deployment.step else "current" if i == deployment.step else "todo",
        }
        for i, weight in enumerate(steps_of(deployment), start=1)
    ]


@register.inclusion_tag("deployments/_strategy.html", takes_context=True)
def deployment_strategy(context, deployment: Deployment) -> dict:
    request = context["request"]
    may_change = policy_for(Deployment).can_change(request, deployment)
    keeps_old = bool(
        deployment.switch_back_until
        and deployment.switch_back_until > timezone.now()
        and not deployment.switched_back_at
    )
    return {
        "deployment": deployment,
        "tenant": context.get("tenant"),
        "csrf_token": context.get("csrf_token"),
        "is_canary": deployment.strategy == Strategy.CANARY,
        "is_blue_green": deployment.strategy == Strategy.BLUE_GREEN,
        "steps": canary_steps(deployment) if deployment.strategy == Strategy.CANARY else [],
        "rule": canary_rule(deployment),
        "rule_text": rule_text(canary_rule(deployment)),
        "may_change": may_change,
        "may_continue": may_change and deployment.state == State.PROGRESSING and deployment.waiting,
        "keeps_old": keeps_old,
        "may_switch_back": may_change and deployment.state == State.SUCCEEDED and keeps_old,
    }
