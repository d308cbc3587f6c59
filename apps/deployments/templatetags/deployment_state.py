"""How a deployment state reads and looks on a page. Live pages' scripts get the same labels and tones
from the JSON that {% deployment_states_json %} writes, so they are defined here only."""

from django import template
from django.utils.html import format_html, json_script

from ..choices import ACTIVE, STEPS, TERMINAL, State

register = template.Library()

TONES = {
    State.PENDING_APPROVAL: "text-bg-secondary",
    State.QUEUED: "text-bg-secondary",
    State.APPLYING: "text-bg-info",
    State.PROGRESSING: "text-bg-primary",
    State.CANCELLING: "text-bg-warning",
    State.SUCCEEDED: "text-bg-success",
    State.FAILED: "text-bg-danger",
    State.ROLLED_BACK: "text-bg-warning",
    State.CANCELLED: "text-bg-dark",
}


# A step reads as what happens in it; the other steps use the state's label.
STEP_LABELS = {State.PENDING_APPROVAL: "Waiting for approval"}

# status -> (list-group class, icon); the page script applies the same looks as events arrive.
STEP_LOOKS = {
    "done": ("list-group-item-success", "bi-check-circle-fill"),
    "current": ("list-group-item-primary", "bi-arrow-repeat"),
    "waiting": ("list-group-item-warning", "bi-hourglass-split"),
    "failed": ("list-group-item-danger", "bi-x-circle-fill"),
    "todo": ("text-body-secondary", "bi-circle"),
}


@register.simple_tag
def deployment_states_json():
    """A <script type="application/json" id="deployment-states"> with every state's label and tone, the
    terminal states."""
    states = {
        "LABELS": {str(state): state.label for state in State},
        "TONES": {str(state): tone for state, tone in TONES.items()},
        "TERMINAL": [str(state) for state in TERMINAL],
    }
    return json_script(states, "deployment-states")


@register.simple_tag
def deployment_steps(state: str, states_seen=()) -> list[dict]:
    """The step view: each step done, current or to come. A deployment that waited for approval gets
    "Pending approval" as its first step (waiting, not failed); a deployment that ended without
    succeeding marks failed the step it had reached (`states_seen`: its events' states, in order)."""
    seen = [str(s) for s in states_seen if s]
    order = [str(step) for step in STEPS]
    if state == State.PENDING_APPROVAL or State.PENDING_APPROVAL in seen:
        order.insert(0, str(State.PENDING_APPROVAL))
    failed = state in TERMINAL and state != State.SUCCEEDED
    if state in order and not failed:
        reached = order.index(state)
    else:
        last_active = [s for s in seen if s in ACTIVE and s in order]
        reached = order.index(last_active[-1]) if last_active else len(order) - 1
    steps = []
    for i, step in enumerate(order):
        if failed and i == reached:
            status = "failed"
        elif i < reached or state == State.SUCCEEDED:
            status = "done"
        elif i == reached:
            status = "waiting" if step == State.PENDING_APPROVAL else "current"
        else:
            status = "todo"
        steps.append(
            {
                "state": step,
                "label": STEP_LABELS.get(step, State(step).label),
                "status": status,
                "row": STEP_LOOKS[status][0],
                "icon": STEP_LOOKS[status][1],
            }
        )
    return steps


@register.simple_tag
def state_badge(state: str, label: str) -> str:
    """A deployment's state as a badge: its label in its tone, the state itself for the live scripts."""
    return format_html(
        '<span class="badge {}" data-state="{}">{}</span>', TONES.get(state, "text-bg-secondary"), state, label
    )
