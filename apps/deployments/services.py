"""Every change to a deployment: create, the one transition function, observations, rollback, cancel.

Each service checks the policy, writes its rows, events and audit event in one transaction, and
registers its side effects (broadcasts, the pipeline task) to run after commit.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.core.events import emit_on_commit
from apps.core.governance import Change, Verdict, gate
from apps.core.policies import policy_for
from apps.core.realtime import broadcast_on_commit, deployment_group, tenant_group
from apps.tenants.claims import host_claim
from apps.tenants.principals import as_principal

from .choices import ACTIVE, TERMINAL, TRANSITIONS, EventKind, State
from .models import LEASE_SECONDS, Deployment, DeploymentEvent
from .quotas import check_quotas

# Refusals, as constants that tests import.
INVALID = "invalid"
IN_PROGRESS = "deployment_in_progress"
ILLEGAL_TRANSITION = "illegal_transition"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
NO_PREVIOUS_RELEASE = "no_previous_release"
FINISHED = "deployment_finished"
PRODUCTION_NEEDS_ADMIN = "Deploying to a production environment needs an admin or an owner of the tenant."


# --- Events ------------------------------------------------------------------------------------


def event_payload(event: DeploymentEvent, deployment: Deployment) -> dict:
    """What browsers receive: the event plus the deployment's state after it, and the application and
    environment ids so tenant-wide pages know which of their rows it moves."""
    return {
        "type": "deployment.event", "deployment": deployment.pk, "seq": event.seq, "kind": event.kind,
        "state": event.state, "key": event.key, "message": event.message, "data": event.data,
        "application": deployment.application_id, "environment": deployment.environment_id,
        "created_at": event.created_at.isoformat(), "deployment_state": deployment.state,
    }


def _append(deployment: Deployment, *, kind: str, message: str, state: str = "", key: str = "",
            data: dict | None = None) -> DeploymentEvent:
    """Write the next event. The caller holds the row lock (or just inserted the row), so seq has no gaps."""
    seq = deployment.last_seq + 1
    event = DeploymentEvent.objects.create(deployment=deployment, seq=seq, kind=kind, state=state, key=key,
                                           message=message[:2000], data=data or {})
    Deployment.objects.filter(pk=deployment.pk).update(last_seq=seq)
    deployment.last_seq = seq
    payload = event_payload(event, deployment)
    broadcast_on_commit(deployment_group(deployment.pk), payload)
    broadcast_on_commit(tenant_group(deployment.tenant_id), payload)
    return event


def _locked(deployment_id: int) -> Deployment:
    return Deployment.objects.select_for_update().select_related("tenant").get(pk=deployment_id)


# --- Creating ----------------------------------------------------------------------------------


def _replay(tenant, key: str, release, environment) -> Deployment | None:
    """The deployment an earlier request with this key made; the same key for another request is refused."""
    if not key:
        return None
    earlier = Deployment.objects.filter(tenant=tenant, idempotency_key=key).first()
    if earlier is not None and (earlier.release_id, earlier.environment_id) != (release.pk, environment.pk):
        raise ApplicationError("This Idempotency-Key was already used for a different deployment.",
                               code=IDEMPOTENCY_KEY_REUSED, status=422)
    return earlier


def _in_progress(application, environment) -> ApplicationError:
    active = Deployment.objects.filter(application=application, environment=environment, state__in=ACTIVE).first()
    which = f" (deployment {active.pk}, {active.get_state_display().lower()})" if active else ""
    return ApplicationError(f"{application.name} is already being deployed to {environment.name}{which}; "
                            "wait for it to finish or cancel it.", code=IN_PROGRESS, status=409)


def _check_create(actor, release, environment, key: str) -> None:
    policy = policy_for(Deployment)
    require(policy.allows(actor, "add", environment.tenant), tenant=environment.tenant)
    require(policy.can_add(actor, environment), PRODUCTION_NEEDS_ADMIN)
    if release.tenant_id != environment.tenant_id:
        raise ApplicationError("The release and the environment belong to different tenants.", code=INVALID,
                               field="environment")
    if len(key) > 200:
        raise ApplicationError("An Idempotency-Key is at most 200 characters.", code=INVALID, field="idempotency_key")
    if release.ingress_host:  # a release cut before hosts were claims may name another tenant's host
        host_claim(tenant=environment.tenant, host=release.ingress_host)


@transaction.atomic
def deployment_create(*, actor, release, environment, idempotency_key: str | None = None,
                      progress_deadline_seconds: int | None = None, reason: str = "",
                      rollback_of: Deployment | None = None, automatic: bool = False, justification: str = "",
                      break_glass_reason: str = "", strategy: str = "", strategy_config: dict | None = None,
                      restorative: bool = False) -> tuple[Deployment, bool]:
    """Queue a release for an environment; (deployment, created). A repeated Idempotency-Key returns
    the first deployment. A second deployment of the same app to the same environment while one is
    active is refused (409), not queued: the newer request would otherwise silently win or wait.

    Where the environment is governed, the deployment waits in `pending_approval` behind a change
    request instead of being queued. `automatic` is the platform's own deploy (an automatic
    rollback): no member asked, so no role and no approval applies. `restorative` is a member's rollback
    to the last good release: it goes ahead past approval and freezes, with a post-hoc review."""
    key = (idempotency_key or "").strip()
    if not automatic:
        _check_create(actor, release, environment, key)
    earlier = _replay(environment.tenant, key, release, environment)
    if earlier is not None:
        return earlier, False
    if Deployment.objects.filter(application=release.application_id, environment=environment,
                                 state__in=ACTIVE).exists():
        raise _in_progress(release.application, environment)
    check_quotas(release=release, environment=environment)
    title = (f"Roll back {release.application.name} to release #{release.number} in {environment.name}" if rollback_of
             else f"Deploy {release.application.name} release #{release.number} to {environment.name}")
    change = Change(kind="deploy", tenant=environment.tenant, actor=actor, environment=environment, title=title,
                    justification=justification or (reason if rollback_of else ""),
                    break_glass_reason=break_glass_reason, restorative=restorative)
    verdict = Verdict() if automatic else gate().assess(change)
    deployment = _insert(actor, release, environment, key, progress_deadline_seconds, reason, rollback_of,
                         strategy=strategy, strategy_config=strategy_config,
                         state=State.PENDING_APPROVAL if verdict.needs_approval else State.QUEUED)
    if deployment.pk is None:
        return _replay(environment.tenant, key, release, environment), False
    audit_record(actor=actor, action="deployment.rollback" if rollback_of else "deployment.create", obj=deployment,
                 tenant=environment.tenant, changes={"release": [None, release.number], "reason": [None, reason]})
    change.subject = deployment
    if verdict.needs_approval:
        change_request = gate().open(change, verdict)
        _append(deployment, kind=EventKind.STATE, state=State.PENDING_APPROVAL,
                message=f"Waiting for approval (change request {change_request.pk})",
                data={"change_request": change_request.pk})
        return deployment, True
    if verdict.break_glass or verdict.restorative:
        gate().open(change, verdict)
    _append(deployment, kind=EventKind.STATE, state=State.QUEUED,
            message=reason or f"Release #{release.number} queued for {environment.name}")
    _dispatch(deployment)
    return deployment, True


def _dispatch(deployment: Deployment) -> None:
    from .tasks import run_deployment

    transaction.on_commit(lambda: run_deployment.delay(deployment.pk, deployment.attempts))


@transaction.atomic
def deployment_release(*, deployment: Deployment, reason: str, actor=None) -> Deployment:
    """Move a deployment that waited for approval into the queue and start its pipeline after commit;
    the approvals app calls this in the transaction that records the final approval."""
    row = deployment_transition(deployment=deployment, to_state=State.QUEUED, reason=reason, actor=actor)
    row.lease_expires_at = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    row.save(update_fields=["lease_expires_at"])
    _dispatch(row)
    return row


def _insert(actor, release, environment, key, progress_deadline_seconds, reason, rollback_of, *, state: str,
            strategy: str, strategy_config: dict | None) -> Deployment:
    """Insert the row; a racing request that won the same key yields an unsaved row, one that won the
    (application, environment) slot a refusal."""
    principal = as_principal(actor)
    deployment = Deployment(
        tenant=environment.tenant, application=release.application, release=release, environment=environment,
        state=state, strategy=strategy or Deployment._meta.get_field("strategy").default,
        strategy_config=strategy_config or {},
        requested_by=principal.user if principal.is_authenticated else None, idempotency_key=key, reason=reason,
        rollback_of=rollback_of, attempts=1,
        lease_expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS) if state == State.QUEUED else None,
        progress_deadline_seconds=progress_deadline_seconds or Deployment._meta.get_field(
            "progress_deadline_seconds").default,
    )
    try:
        with transaction.atomic():
            deployment.save()
    except IntegrityError:
        if key and Deployment.objects.filter(tenant=environment.tenant, idempotency_key=key).exists():
            return Deployment(tenant=environment.tenant)
        raise _in_progress(release.application, environment) from None
    return deployment


# --- The state machine -------------------------------------------------------------------------


def _illegal(row: Deployment, to_state: str) -> ApplicationError:
    return ApplicationError(f"A deployment that is {row.get_state_display().lower()} cannot become "
                            f"{State(to_state).label.lower()}.", code=ILLEGAL_TRANSITION, status=409)


@transaction.atomic
def deployment_transition(*, deployment: Deployment, to_state: str, reason: str = "", data: dict | None = None,
                          actor=None) -> Deployment:
    """The only way a deployment changes state: checks the move is legal, records the event with the
    next seq, audits terminal states, and broadcasts after commit."""
    row = _locked(deployment.pk)
    if to_state not in TRANSITIONS.get(row.state, ()):
        raise _illegal(row, to_state)
    before, now = row.state, timezone.now()
    row.state = to_state
    if to_state == State.APPLYING and row.started_at is None:
        row.started_at = now
    if to_state in TERMINAL:
        row.finished_at, row.lease_expires_at, row.outcome = now, None, reason or State(to_state).label
        row.paused_at = None
    row.save(update_fields=["state", "outcome", "started_at", "finished_at", "lease_expires_at", "paused_at"])
    _append(row, kind=EventKind.STATE, state=to_state, message=reason or State(to_state).label, data=data)
    emit_on_commit(tenant_id=row.tenant_id, event=f"deployment.{to_state}", data={
        "deployment": row.pk, "application": row.application_id, "environment": row.environment_id,
        "release": row.release_id, "state": to_state, "previous_state": before, "reason": reason})
    if to_state in TERMINAL:
        audit_record(actor=actor, action=f"deployment.{to_state}", obj=row, tenant=row.tenant,
                     changes={"state": [before, to_state], "reason": [None, reason]})
    deployment.__dict__.update({field: getattr(row, field) for field in (
        "state", "outcome", "started_at", "finished_at", "lease_expires_at", "paused_at", "last_seq")})
    return row


@transaction.atomic
def deployment_observe(*, deployment: Deployment, observations: list[dict]) -> int:
    """Record what was seen in the cluster ({key, kind, message, data}); a key seen before is skipped,
    so looking twice (or from two workers) never duplicates an event. Returns how many were new."""
    row = _locked(deployment.pk)
    if row.is_terminal:
        return 0
    seen = set(row.events.filter(key__in=[o["key"] for o in observations]).values_list("key", flat=True))
    new = [o for o in observations if o["key"] not in seen]
    for observation in new:
        _append(row, kind=observation["kind"], key=observation["key"], message=observation["message"],
                data=observation.get("data"))
    return len(new)


# --- Day-2 operations --------------------------------------------------------------------------


def previous_good_deployment(deployment: Deployment) -> Deployment | None:
    """The newest earlier deployment of another release to the same place that succeeded."""
    return (Deployment.objects.filter(application=deployment.application_id, environment=deployment.environment_id,
                                      state=State.SUCCEEDED, id__lt=deployment.pk)
            .exclude(release=deployment.release_id).select_related("release").order_by("-id").first())


def restorative_change_record(*, actor, deployment: Deployment, kind: str, title: str, reason: str = "") -> None:
    """Record a restorative operation (cancel, pause, switch back) on a governed environment: it was
    never held, so the approvals gate files it as made at once and opens a post-hoc review."""
    change = Change(kind=kind, tenant=deployment.tenant, actor=actor, environment=deployment.environment,
                    subject=deployment, title=title, justification=(reason or "").strip(), restorative=True)
    verdict = gate().assess(change)
    if verdict.restorative:
        gate().open(change, verdict)


def _is_newest(deployment: Deployment) -> bool:
    return not Deployment.objects.filter(application=deployment.application_id, environment=deployment.environment_id,
                                         id__gt=deployment.pk).exists()


@transaction.atomic
def deployment_rollback(*, actor, deployment: Deployment, reason: str, break_glass_reason: str = "") -> Deployment:
    """Deploy the release that last succeeded before this one, linked to it and with the reason
    recorded; an in-flight deployment is stopped first (rolled back, or cancelled if not yet applying).

    Rolling back the newest deployment is restorative: it goes back to the last good release, so it
    is never held by approval or a freeze (it is reviewed afterwards). Rolling back an older one
    deploys an older release over newer ones, an ordinary governed deploy."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    if not (reason or "").strip():
        raise ApplicationError("Say why you are rolling back.", code=INVALID, field="reason")
    target = previous_good_deployment(deployment)
    if target is None:
        raise ApplicationError("There is no earlier release that succeeded in this environment to roll back to.",
                               code=NO_PREVIOUS_RELEASE, status=409)
    restorative = _is_newest(deployment)
    if deployment.state in ACTIVE:
        stop = State.ROLLED_BACK if State.ROLLED_BACK in TRANSITIONS[deployment.state] else State.CANCELLED
        deployment_transition(deployment=deployment, to_state=stop, reason=f"Rolled back: {reason.strip()}",
                              actor=actor)
    rollback, _ = deployment_create(actor=actor, release=target.release, environment=deployment.environment,
                                    reason=f"Rollback of deployment {deployment.pk}: {reason.strip()}",
                                    rollback_of=deployment, progress_deadline_seconds=target.progress_deadline_seconds,
                                    break_glass_reason=break_glass_reason, restorative=restorative)
    return rollback


def deployment_cancel(*, actor, deployment: Deployment, reason: str = "") -> Deployment:
    """Stop an in-flight deployment. Objects already applied stay as they are; roll back to undo them.
    Restorative: never held; stopping one that already left approval is reviewed afterwards."""
    require(policy_for(Deployment).can_change(actor, deployment), tenant=deployment.tenant)
    if deployment.is_terminal:
        raise ApplicationError(f"This deployment already {deployment.get_state_display().lower()}.",
                               code=FINISHED, status=409)
    message = "Cancelled" + (f": {reason.strip()}" if (reason or "").strip() else "")
    with transaction.atomic():
        waited = deployment.state == State.PENDING_APPROVAL  # nothing ran yet: withdrawing says it all
        row = deployment_transition(deployment=deployment, to_state=State.CANCELLED, reason=message, actor=actor)
        gate().withdraw(row, message)
        if not waited:
            restorative_change_record(actor=actor, deployment=row, kind="cancel", reason=reason,
                                      title=f"Cancel deployment {row.pk} of {row.application.name} in "
                                            f"{row.environment.name}")
    return row


@transaction.atomic
def deployment_note(*, deployment: Deployment, message: str, key: str = "", data: dict | None = None) -> bool:
    """Record a line on a deployment, finished or not: what a day-2 operation did to the release it
    runs. A key recorded before is skipped; False then."""
    row = _locked(deployment.pk)
    if key and row.events.filter(key=key).exists():
        return False
    _append(row, kind=EventKind.LOG, key=key, message=message, data=data)
    return True
