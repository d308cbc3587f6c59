"""Ending a deployment early or undoing it: cancel, rollback by a member, and the automatic rollback
after a failed rollout."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.errors import INVALID, ApplicationError, require
from apps.core.governance import gate
from apps.core.policies import policy_for
from apps.tenants.principals import Principal

from ..choices import ACTIVE, TRANSITIONS, State
from ..models import Deployment
from ..selectors import live_deployment, previous_good_deployment, restore_target
from .create import deployment_create
from .deploy_settings import deploy_settings_for
from .gating import restorative_change_record
from .state import deployment_note, deployment_transition

# Refusals, as constants that tests import.
NO_PREVIOUS_RELEASE = "no_previous_release"
FINISHED = "deployment_finished"
CANCELLING = "deployment_cancelling"


def _is_newest(deployment: Deployment) -> bool:
    return not Deployment.objects.filter(
        application=deployment.application_id, environment=deployment.environment_id, id__gt=deployment.pk
    ).exists()


@transaction.atomic
def deployment_rollback(
    *, actor: Principal, deployment: Deployment, reason: str, break_glass_reason: str = ""
) -> Deployment:
    """Deploy the release that last succeeded before this one, linked to it and with the reason
    recorded; an in-flight deployment is stopped first (rolled back, or cancelled if not yet applying).

    Rolling back the newest deployment is restorative: it goes back to the last good release, so it
    is never held by approval or a freeze (it is reviewed afterwards). Rolling back an older one
    deploys an older release over newer ones, and rolling back one whose application was removed
    brings the application back: each an ordinary governed deploy."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    if not (reason or "").strip():
        raise ApplicationError("Say why you are rolling back.", code=INVALID, field="reason")
    if deployment.state == State.CANCELLING:
        raise ApplicationError(
            "This deployment is being cancelled: the release that was live before is coming back.",
            code=CANCELLING,
            status=409,
        )
    target = previous_good_deployment(deployment)
    if target is None:
        raise ApplicationError(
            "There is no earlier release that succeeded in this environment to roll back to.",
            code=NO_PREVIOUS_RELEASE,
            status=409,
        )
    # Bringing back an application that was removed from the environment is a deploy like any other,
    # not damage control: only undoing the newest change to an application that runs there is restorative.
    restorative = _is_newest(deployment) and live_deployment(deployment.application, deployment.environment) is not None
    if deployment.state in ACTIVE:
        stop = State.ROLLED_BACK if State.ROLLED_BACK in TRANSITIONS[deployment.state] else State.CANCELLED
        row = deployment_transition(
            deployment=deployment, to_state=stop, reason=f"Rolled back: {reason.strip()}", actor=actor
        )
        gate().withdraw(row, f"Rolled back: {reason.strip()}")  # one that waited for approval waits no more
    rollback, _ = deployment_create(
        actor=actor,
        release=target.release,
        environment=deployment.environment,
        reason=f"Rollback of deployment {deployment.pk}: {reason.strip()}",
        rollback_of=deployment,
        progress_deadline_seconds=target.progress_deadline_seconds,
        break_glass_reason=break_glass_reason,
        restorative=restorative,
    )
    return rollback


def deployment_cancel(*, actor: Principal, deployment: Deployment, reason: str = "") -> Deployment:
    """Stop an in-flight deployment. Before it applied anything it is cancelled at once; after, it is
    cancelling: the pipeline re-applies the release that was live before (or, when none was, removes
    what it applied) and the row turns cancelled only once the cluster is seen that way again.
    Restorative: never held; stopping one that already left approval is reviewed afterwards."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    if deployment.is_terminal:
        raise ApplicationError(
            f"This deployment already {deployment.get_state_display().lower()}.", code=FINISHED, status=409
        )
    if deployment.state == State.CANCELLING:
        raise ApplicationError("This deployment is already being cancelled.", code=CANCELLING, status=409)
    said = f": {reason.strip()}" if (reason or "").strip() else ""
    with transaction.atomic():
        waited = deployment.state == State.PENDING_APPROVAL  # nothing ran yet: withdrawing says it all
        if deployment.state in (State.PENDING_APPROVAL, State.QUEUED):
            row = deployment_transition(
                deployment=deployment, to_state=State.CANCELLED, reason=f"Cancelled{said}", actor=actor
            )
        else:
            row = deployment_transition(
                deployment=deployment, to_state=State.CANCELLING, reason=_cancelling(deployment) + said, actor=actor
            )
        gate().withdraw(row, f"Cancelled{said}")
        if not waited:
            restorative_change_record(
                actor=actor,
                deployment=row,
                kind="cancel",
                reason=reason,
                title=f"Cancel deployment {row.pk} of {row.application.name} in {row.environment.name}",
            )
    return row


def _cancelling(deployment: Deployment) -> str:
    """What a cancel is about to do to the cluster, in the words of its event."""
    target = restore_target(deployment)
    if target is None:
        return f"Cancelling: nothing was live before, so removing what release #{deployment.release.number} applied"
    return f"Cancelling: re-applying release #{target.release.number}"


def deployment_fail(*, deployment: Deployment, reason: str) -> None:
    """Mark failed unless something else already finished it; then roll back if the environment says so."""
    try:
        deployment_transition(deployment=deployment, to_state=State.FAILED, reason=reason)
    except ApplicationError:
        return
    deployment_auto_rollback(deployment=deployment)


def deployment_auto_rollback(*, deployment: Deployment) -> Deployment | None:
    """After a failed rollout, deploy the release that last succeeded there again, when the
    environment's settings say so. A rollback that fails is left failed, so it can never loop."""
    if deployment.rollback_of_id is not None or not deploy_settings_for(deployment.environment).auto_rollback:
        return None
    return _roll_back_automatically(deployment, why=deployment.outcome)


def deployment_degraded_rollback(*, deployment: Deployment, why: str, within_seconds: int) -> Deployment | None:
    """A release that went live and then degraded (crash loop, out of memory, pods never ready) soon
    after is rolled back like a failed rollout, when the environment's settings say so: only the live
    deployment, only within `within_seconds` of its success, and never a rollback itself."""
    if (
        deployment.state != State.SUCCEEDED
        or deployment.finished_at is None
        or deployment.rollback_of_id is not None
        or not _is_newest(deployment)
        or timezone.now() - deployment.finished_at > timedelta(seconds=within_seconds)
        or not deploy_settings_for(deployment.environment).auto_rollback
    ):
        return None
    return _roll_back_automatically(deployment, why=f"it degraded after going live: {why}")


def _roll_back_automatically(deployment: Deployment, *, why: str) -> Deployment | None:
    target = previous_good_deployment(deployment)
    if target is None:
        deployment_note(
            deployment=deployment,
            key="auto-rollback",
            message="No automatic rollback: no earlier release succeeded in this environment.",
        )
        return None
    try:
        rollback, _ = deployment_create(
            actor=None,
            release=target.release,
            environment=deployment.environment,
            rollback_of=deployment,
            reason=f"Automatic rollback of deployment {deployment.pk}: {why}",
            progress_deadline_seconds=target.progress_deadline_seconds,
            automatic=True,
        )
    except ApplicationError as error:
        deployment_note(deployment=deployment, key="auto-rollback", message=f"No automatic rollback: {error.message}")
        return None
    deployment_note(
        deployment=deployment,
        key="auto-rollback",
        data={"rollback": rollback.pk},
        message=f"Rolling back automatically to release #{target.release.number} (deployment {rollback.pk})",
    )
    return rollback
