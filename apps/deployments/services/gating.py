"""Where deployment writes meet the approvals gate (apps.core.governance): ordinary changes that may
wait for approval, and restorative ones that never wait but are reviewed afterwards."""

from __future__ import annotations

from django.db import transaction

from apps.core.errors import INVALID, ApplicationError
from apps.core.governance import Change, gate
from apps.tenants.principals import Principal

from ..models import Deployment


def change_gated(change: Change):
    """Ask the approvals gate about an ordinary change: refused during a freeze (409), else the change
    request it waits for, or the flagged record of a break-glass change, or None where ungoverned."""
    verdict = gate().assess(change)
    if verdict.needs_approval or verdict.break_glass:
        with transaction.atomic():
            return gate().open(change, verdict)
    return None


def justification_check(environment, justification: str, break_glass_reason: str = "") -> None:
    """For a request already refused for other fields, so that one answer names this too: a change to
    a governed environment needs a justification (the gate says the same when the change is made)."""
    given = (justification or "").strip() or (break_glass_reason or "").strip()
    if environment is not None and not given and gate().governed(environment):
        raise ApplicationError(
            f"Changes to {environment.name} need approval: say why this change is needed.",
            code=INVALID,
            field="justification",
        )


def is_waiting(subject) -> bool:
    """Whether the subject's operation waits for approval rather than having been made."""
    request = getattr(subject, "change_request", None)
    return request is not None and request.is_open


def restorative_change_record(
    *, actor: Principal, deployment: Deployment, kind: str, title: str, reason: str = ""
) -> None:
    """Record a restorative operation (cancel, pause, switch back) on a governed environment: it was
    never held, so the approvals gate files it as made at once and opens a post-hoc review."""
    change = Change(
        kind=kind,
        tenant=deployment.tenant,
        actor=actor,
        environment=deployment.environment,
        subject=deployment,
        title=title,
        justification=(reason or "").strip(),
        restorative=True,
    )
    verdict = gate().assess(change)
    if verdict.restorative:
        gate().open(change, verdict)
