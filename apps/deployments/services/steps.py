"""The writes of canary and blue-green rollouts: every step, and the user's continue and switch-back.

A step is recorded as a `step` event under the row lock together with the row's step, waiting flag
or colour; each record carries a key, so a task run twice records (and moves) once.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.core.governance import Change, gate
from apps.core.policies import policy_for
from apps.tenants.principals import Principal

from .. import dispatch
from ..choices import EventKind, State, Strategy
from ..dispatch import after_commit
from ..models import Deployment
from ..selectors import live_colour, previous_colour_deployment
from ..strategies.manifests import COLOURS, other_colour
from ..strategies.plan import StrategyPlan, steps_of
from .create import deployment_create
from .gating import restorative_change_record
from .state import deployment_locked, deployment_transition, event_append

# Refusals, as constants that tests import.
NOT_WAITING = "deployment_not_waiting"
NO_SWITCH_BACK = "switch_back_unavailable"


def step_record(deployment: Deployment, *, key: str, message: str, data: dict | None = None, **fields) -> bool:
    """Record a step (and set `fields` on the row) unless its key was recorded before; True when new."""
    with transaction.atomic():
        row = deployment_locked(deployment.pk)
        if row.events.filter(key=key).exists():
            return False
        for name, value in fields.items():
            setattr(row, name, value)
        if fields:
            row.save(update_fields=list(fields))
        event_append(
            row,
            kind=EventKind.STEP,
            key=key,
            message=message,
            data={"step": row.step, "waiting": row.waiting, "colour": row.colour, **(data or {})},
        )
    deployment.__dict__.update(fields)
    return True


@transaction.atomic
def strategy_deploy(*, actor: Principal, release, environment, plan: StrategyPlan, **create) -> tuple[Deployment, bool]:
    """deployment_create with a strategy: the plan is stored with the row, before the pipeline task
    is dispatched or a change request renders the change."""
    if plan.strategy != Strategy.ROLLING:
        create.update(strategy=plan.strategy, strategy_config=plan.config())
    return deployment_create(actor=actor, release=release, environment=environment, **create)


# --- Canary ------------------------------------------------------------------------------------


def canary_step_start(deployment: Deployment, step: int) -> bool:
    """Enter a step: the canary takes its share of traffic, or at 100 the stable Deployment takes the release."""
    steps = steps_of(deployment)
    weight = steps[step - 1]
    what = (
        "promoting: the stable Deployment takes the release"
        if weight == 100
        else "only the requests it matches go to the canary"
        if weight == 0
        else f"{weight}% of traffic to the canary"
    )
    return step_record(
        deployment,
        key=f"step:{step}:started",
        step=step,
        waiting=False,
        message=f"Step {step} of {len(steps)}: {what}",
        data={"weight": weight},
    )


def canary_step_wait(deployment: Deployment) -> bool:
    step = deployment.step
    return step_record(
        deployment,
        key=f"step:{step}:waiting",
        waiting=True,
        message=f"Step {step} is healthy; waiting for a continue",
        data={"weight": steps_of(deployment)[step - 1]},
    )


def deployment_continue(
    *, actor: Principal, deployment: Deployment, reason: str = "", break_glass_reason: str = ""
) -> Deployment:
    """Move a canary waiting at a step on to its next step. A freeze refuses it (an owner may break
    glass); approval is not asked again, since the deployment's change request covered its steps."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    with transaction.atomic():
        row = deployment_locked(deployment.pk)
        if row.strategy != Strategy.CANARY or row.state != State.PROGRESSING or not row.waiting:
            raise ApplicationError("Only a canary waiting at a step can continue.", code=NOT_WAITING, status=409)
        change = Change(
            kind="continue",
            tenant=row.tenant,
            actor=actor,
            environment=row.environment,
            subject=row,
            break_glass_reason=break_glass_reason,
            carries_on=True,
            title=f"Move the canary of deployment {row.pk} on to step {row.step + 1}",
        )
        verdict = gate().assess(change)
        if verdict.break_glass:
            gate().open(change, verdict)
        canary_step_start(row, row.step + 1)
        audit_record(
            actor=actor,
            action="deployment.continue",
            obj=row,
            tenant=row.tenant,
            changes={"step": [row.step - 1, row.step], "reason": [None, reason]},
        )
    return row


# --- Blue-green --------------------------------------------------------------------------------


def colour_choose(deployment: Deployment) -> str:
    """The colour this deployment rolls out to, chosen once; earlier rows stop keeping their old colour,
    since it is about to carry this release."""
    if deployment.colour:
        return deployment.colour
    live = live_colour(deployment)
    colour = other_colour(live) if live else COLOURS[0]
    Deployment.objects.filter(
        application=deployment.application_id,
        environment=deployment.environment_id,
        id__lt=deployment.pk,
        switch_back_until__isnull=False,
    ).update(switch_back_until=None)
    step_record(
        deployment,
        key=f"colour:{colour}",
        colour=colour,
        message=f"Rolling out to {colour}" + (f"; {live} keeps serving until it is ready" if live else ""),
    )
    return colour


def colour_went_live(deployment: Deployment, *, previous: str | None) -> None:
    """The Service now selects the new colour: the deployment succeeded; the old one is kept a while."""
    keep = int(deployment.strategy_config.get("keep_seconds") or 0)
    until = timezone.now() + timedelta(seconds=keep) if previous and keep else None
    with transaction.atomic():
        kept = f"; {previous} kept for switch-back for {keep} s" if until else ""
        step_record(
            deployment,
            key=f"switch:{deployment.colour}",
            switch_back_until=until,
            message=f"Service switched to {deployment.colour}{kept}",
        )
        deployment_transition(
            deployment=deployment, to_state=State.SUCCEEDED, reason=f"Service switched to {deployment.colour}{kept}"
        )


def colours_removed(deployment: Deployment, removed: list[str]) -> None:
    """A rolling update took the application over from blue-green and its colours were removed: say so,
    and close any switch-back window, since there is no colour left to switch back to."""
    with transaction.atomic():
        Deployment.objects.filter(
            application=deployment.application_id,
            environment=deployment.environment_id,
            switch_back_until__isnull=False,
        ).update(switch_back_until=None)
        step_record(
            deployment,
            key="colours:removed",
            message=f"The rolling Deployment serves all traffic; the blue-green colours were removed: {', '.join(removed)}",
            data={"removed": removed},
        )


def deployment_switch_back(*, actor: Principal, deployment: Deployment, reason: str = "") -> Deployment:
    """Send traffic back to the old colour while it is still kept; the switch happens in a task at once.
    Restorative: never held by approval or a freeze; in a governed environment it is reviewed afterwards."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    with transaction.atomic():
        row = deployment_locked(deployment.pk)
        if (
            row.strategy != Strategy.BLUE_GREEN
            or row.state != State.SUCCEEDED
            or row.switched_back_at
            or not row.switch_back_until
            or row.switch_back_until < timezone.now()
            or previous_colour_deployment(row) is None
        ):
            raise ApplicationError(
                "Switching back is possible only while a blue-green deployment keeps its old colour.",
                code=NO_SWITCH_BACK,
                status=409,
            )
        old = other_colour(row.colour)
        step_record(
            row,
            key="switch-back:requested",
            switched_back_at=timezone.now(),
            message=f"Switching back to {old}" + (f": {reason.strip()}" if reason.strip() else ""),
        )
        audit_record(
            actor=actor,
            action="deployment.switch_back",
            obj=row,
            tenant=row.tenant,
            changes={"colour": [row.colour, old], "reason": [None, reason]},
        )
        restorative_change_record(
            actor=actor,
            deployment=row,
            kind="switch_back",
            reason=reason,
            title=f"Switch {row.application.name} in {row.environment.name} back to {old}",
        )
        after_commit(dispatch.SWITCH_BACK, row.pk)
    return row
