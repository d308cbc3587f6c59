"""How a deployment state reads and looks on a page. Live pages' scripts get the same labels and tones
from the JSON that {% deployment_states_json %} writes, so they are defined here only."""

from django import template
from django.utils.html import json_script

from ..choices import STEPS, TERMINAL, State

register = template.Library()

TONES = {
    State.PENDING_APPROVAL: "text-bg-secondary",
    State.QUEUED: "text-bg-secondary",
    State.APPLYING: "text-bg-info",
    State.PROGRESSING: "text-bg-primary",
    State.SUCCEEDED: "text-bg-success",
    State.FAILED: "text-bg-danger",
    State.ROLLED_BACK: "text-bg-warning",
    State.CANCELLED: "text-bg-dark",
}


# status -> (list-group class, icon); the page script applies the same looks as events arrive.
STEP_LOOKS = {
    "done": ("list-group-item-success", "bi-check-circle-fill"),
    "current": ("list-group-item-primary", "bi-arrow-repeat"),
    "failed": ("list-group-item-danger", "bi-x-circle-fill"),
    "todo": ("text-body-secondary", "bi-circle"),
}


@register.filter
def state_tone(state: str) -> str:
    return TONES.get(state, "text-bg-secondary")


@register.simple_tag
def deployment_states_json():
    """A <script type="application/json" id="deployment-states"> with every state's label and tone, the
    terminal states and the drawn steps."""
    states = {
        "LABELS": {str(state): state.label for state in State},
        "TONES": {str(state): tone for state, tone in TONES.items()},
        "TERMINAL": [str(state) for state in TERMINAL],
        "STEPS": [str(state) for state in STEPS],
    }
    return json_script(states, "deployment-states")


@register.simple_tag
def deployment_steps(state: str) -> list[dict]:
    """The step view: each step done, current or to come; a failed rollout marks its last step failed."""
    order = [str(step) for step in STEPS]
    reached = order.index(state) if state in order else len(order) - 1
    failed = state not in order
    steps = []
    for i, step in enumerate(order):
        status = (
            "failed"
            if failed and i == reached
            else "done"
            if i < reached or state == State.SUCCEEDED
            else "current"
            if i == reached
            else "todo"
        )
        steps.append(
            {
                "state": step,
                "label": State(step).label,
                "status": status,
                "row": STEP_LOOKS[status][0],
                "icon": STEP_LOOKS[status][1],
            }
        )
    return steps
