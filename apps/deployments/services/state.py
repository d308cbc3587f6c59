"""The state machine and the event log of a deployment: the only writer of DeploymentEvent rows.

Every event is written under the row lock with the next seq (1, 2, 3 ... without gaps) and broadcast
to the deployment's and the tenant's groups after commit.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError
from apps.core.events import emit_on_commit
from apps.core.governance import gate
from apps.core.realtime import broadcast_on_commit, deployment_group, tenant_group
from apps.tenants.principals import Principal

from ..choices import TERMINAL, TRANSITIONS, EventKind, State
from ..fairness import admit_after_commit
from ..models import Deployment, DeploymentEvent

# Refusals, as constants that tests import.
ILLEGAL_TRANSITION = "illegal_transition"


def event_payload(event: DeploymentEvent, deployment: Deployment) -> dict:
    """What browsers receive: the event plus the deployment's state after it, and the application and
    environment ids so tenant-wide pages know which of their rows it moves."""
    return {
        "type": "deployment.event",
        "deployment": deployment.pk,
        "seq": event.seq,
        "kind": event.kind,
        "state": event.state,
        "key": event.key,
        "message": event.message,
        "data": event.data,
        "application": deployment.application_id,
        "environment": deployment.environment_id,
        "created_at": event.created_at.isoformat(),
        "deployment_state": deployment.state,
    }


def event_append(
    deployment: Deployment, *, kind: str, message: str, state: str = "", key: str = "", data: dict | None = None
) -> DeploymentEvent:
    """Write the next event. The caller holds the row lock (or just inserted the row), so seq has no gaps."""
    seq = deployment.last_seq + 1
    event = DeploymentEvent.objects.create(
        deployment=deployment, seq=seq, kind=kind, state=state, key=key, message=message[:2000], data=data or {}
    )
    Deployment.objects.filter(pk=deployment.pk).update(last_seq=seq)
    deployment.last_seq = seq
    payload = event_payload(event, deployment)
    broadcast_on_commit(deployment_group(deployment.pk), payload)
    broadcast_on_commit(tenant_group(deployment.tenant_id), payload)
    return event


def deployment_locked(deployment_id: int) -> Deployment:
    """The row, locked for the rest of the transaction: every event and state change is written under it."""
    return Deployment.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=deployment_id)


# --- The state machine -------------------------------------------------------------------------


def _illegal(row: Deployment, to_state: str) -> ApplicationError:
    return ApplicationError(
        f"A deployment that is {row.get_state_display().lower()} cannot become {State(to_state).label.lower()}.",
        code=ILLEGAL_TRANSITION,
        status=409,
    )


def _superseded(row: Deployment) -> None:
    """What was asked of the deployment that ran before (a restart, a scale, a heal waiting for approval)
    is about a release that no longer runs: its requests close rather than wait for approvers."""
    before = (
        Deployment.objects.filter(
            application=row.application_id, environment=row.environment_id, state=State.SUCCEEDED, id__lt=row.pk
        )
        .order_by("-id")
        .first()
    )
    if before is not None:
        gate().withdraw(before, f"Superseded: deployment {row.pk} runs release #{row.release.number} now")


@transaction.atomic
def deployment_transition(
    *, deployment: Deployment, to_state: str, reason: str = "", data: dict | None = None, actor: Principal | None = None
) -> Deployment:
    """The only way a deployment changes state: checks the move is legal, records the event with the
    next seq, audits terminal states and the start of a cancel, and broadcasts after commit."""
    row = deployment_locked(deployment.pk)
    if to_state not in TRANSITIONS.get(row.state, ()):
        raise _illegal(row, to_state)
    before, now = row.state, timezone.now()
    row.state = to_state
    if to_state == State.APPLYING and row.started_at is None:
        row.started_at = now
    if to_state in TERMINAL:
        row.finished_at, row.lease_expires_at, row.outcome = now, None, reason or State(to_state).label
    if to_state in (*TERMINAL, State.CANCELLING):
        row.paused_at = None  # the release the cancel brings back rolls out unpaused
    row.save(update_fields=["state", "outcome", "started_at", "finished_at", "lease_expires_at", "paused_at"])
    event_append(row, kind=EventKind.STATE, state=to_state, message=reason or State(to_state).label, data=data)
    emit_on_commit(
        tenant_id=row.tenant_id,
        event=f"deployment.{to_state}",
        data={
            "deployment": row.pk,
            "application": row.application_id,
            "environment": row.environment_id,
            "release": row.release_id,
            "state": to_state,
            "previous_state": before,
            "reason": reason,
        },
    )
    if to_state in TERMINAL:  # its turn is over: the tenant's next waiting deployment goes
        admit_after_commit(row.tenant_id)
    if to_state == State.SUCCEEDED:
        _superseded(row)
    if to_state in (*TERMINAL, State.CANCELLING):  # cancelling is a member's act; cancelled follows by itself
        audit_record(
            actor=actor,
            action=f"deployment.{to_state}",
            obj=row,
            tenant=row.tenant,
            changes={"state": [before, to_state], "reason": [None, reason]},
        )
    deployment.__dict__.update(
        {
            field: getattr(row, field)
            for field in ("state", "outcome", "started_at", "finished_at", "lease_expires_at", "paused_at", "last_seq")
        }
    )
    return row


@transaction.atomic
def deployment_observe(*, deployment: Deployment, observations: list[dict]) -> int:
    """Record what was seen in the cluster ({key, kind, message, data}); a key seen before is skipped,
    so looking twice (or from two workers) never duplicates an event. Returns how many were new."""
    row = deployment_locked(deployment.pk)
    if row.is_terminal:
        return 0
    seen = set(row.events.filter(key__in=[o["key"] for o in observations]).values_list("key", flat=True))
    new = [o for o in observations if o["key"] not in seen]
    for observation in new:
        event_append(
            row,
            kind=observation["kind"],
            key=observation["key"],
            message=observation["message"],
            data=observation.get("data"),
        )
    return len(new)


@transaction.atomic
def deployment_note(*, deployment: Deployment, message: str, key: str = "", data: dict | None = None) -> bool:
    """Record a line on a deployment, finished or not: what a day-2 operation did to the release it
    runs. A key recorded before is skipped; False then."""
    row = deployment_locked(deployment.pk)
    if key and row.events.filter(key=key).exists():
        return False
    event_append(row, kind=EventKind.LOG, key=key, message=message, data=data)
    return True
