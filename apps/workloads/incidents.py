"""Incidents: causes of trouble seen on a workload, opened, counted and resolved from what each
refresh reads, and what the portal does about them.

Each refresh hands `incidents_sync` the causes it sees now. A new cause opens an incident (or
reopens the one it resolved shortly before, counting up), tells the tenant (a platform event for
webhooks, an email to owners and admins) and, when the release went live only minutes ago and the
environment rolls back automatically, rolls it back through the deployment services like any
automatic rollback; where no rollback applies and the environment restarts unwell pods, it restarts
them once. A cause no longer seen resolves its incident by itself once it has stayed away
INCIDENT_RESOLVE_AFTER_SECONDS; until then the incident stays open, and seeing the cause again
carries on with it.

People act from an incident too: restart the workload's pods or scale it. Both are the deployment's
own Restart and Scale, so the environment's approvals, freezes, quotas and the audit apply as they
do on the deployment page and in the API; the incident says what was done.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.core.events import emit_on_commit
from apps.core.leases import fence
from apps.core.policies import policy_for
from apps.core.realtime import broadcast_on_commit, tenant_group
from apps.deployments.selectors import live_deployment
from apps.deployments.services import (
    NOT_RUNNING,
    deploy_settings_for,
    deployment_degraded_rollback,
    deployment_restart,
    deployment_scale,
)
from apps.tenants.models import Membership
from apps.tenants.principals import Principal
from apps.tenants.roles import Role

from .models import Cause, Incident, Workload

logger = structlog.get_logger(__name__)

# A cause that returns this soon after its incident resolved reopens it rather than opening another.
REOPEN_WINDOW = timedelta(hours=1)
# Causes that mean the release itself is bad, so rolling back to the one before can help.
RELEASE_CAUSES = (Cause.CRASH_LOOP, Cause.OOM_KILLED, Cause.IMAGE_PULL, Cause.UNREADY)
# Causes a fresh start of the pods may cure (a dependency that was down, a stuck process); not an
# image that cannot be pulled or a memory limit that is too small.
RESTART_CAUSES = (Cause.CRASH_LOOP, Cause.UNREADY)
ALREADY_RESOLVED = "incident_resolved"


def incidents_sync(*, workload: Workload, causes: dict[str, str], applied_by=None) -> float | None:
    """Open, update and resolve the workload's incidents from the causes seen now. `applied_by` is the
    deployment whose release runs, for the automatic rollback of a release that degrades. Returns in how
    many seconds an incident whose cause went away is due to resolve (None: none is), for the caller
    to read the workload again then: nothing else may change in the cluster to prompt a read."""
    now = timezone.now()
    after = timedelta(seconds=settings.INCIDENT_RESOLVE_AFTER_SECONDS)
    opened, due = [], None
    with transaction.atomic():
        fence()  # a watcher that lost its lease opens and resolves nothing
        # One reader of the workload at a time decides (the watcher and a worker's refresh may both
        # look): the lock on the workload row keeps them from opening the same incident twice.
        Workload.objects.select_for_update().filter(pk=workload.pk).first()
        current = {i.cause: i for i in Incident.objects.filter(workload=workload, state="open")}
        for cause, message in causes.items():
            incident = current.get(cause)
            if incident is not None:
                incident.message, incident.last_seen, incident.clear_since = message, now, None
                incident.save(update_fields=["message", "last_seen", "clear_since"])
                continue
            opened.append(_open(workload, cause, message, now))
        for cause, incident in current.items():
            if cause in causes:
                continue
            if incident.clear_since is None:
                incident.clear_since = now
                incident.save(update_fields=["clear_since"])
            if now - incident.clear_since >= after:
                _resolve(incident, now, by=None)
            else:
                left = (incident.clear_since + after - now).total_seconds()
                due = left if due is None else min(due, left)
    for incident in opened:
        _act(incident, applied_by)
    return due


def _open(workload: Workload, cause: str, message: str, now) -> Incident:
    recent = (
        Incident.objects.filter(workload=workload, cause=cause, state="resolved", resolved_at__gte=now - REOPEN_WINDOW)
        .order_by("-resolved_at")
        .first()
    )
    if recent is not None:
        recent.state, recent.message, recent.last_seen, recent.count = "open", message, now, recent.count + 1
        recent.resolved_at = recent.resolved_by = recent.acknowledged_at = recent.acknowledged_by = None
        recent.clear_since = None
        recent.save()
        incident = recent
    else:
        incident = Incident.objects.create(
            tenant_id=workload.tenant_id,
            workload=workload,
            cause=cause,
            message=message,
            first_seen=now,
            last_seen=now,
        )
    _announce(incident, "incident.opened")
    return incident


def _resolve(incident: Incident, now, *, by) -> None:
    incident.state, incident.resolved_at, incident.resolved_by = "resolved", now, by
    incident.save(update_fields=["state", "resolved_at", "resolved_by"])
    _announce(incident, "incident.resolved")


def _announce(incident: Incident, event: str) -> None:
    workload = incident.workload
    data = {
        "incident": incident.pk,
        "workload": workload.pk,
        "application": workload.application.name,
        "environment": workload.environment.name,
        "cause": incident.cause,
        "state": incident.state,
        "message": incident.message,
        "count": incident.count,
    }
    emit_on_commit(tenant_id=incident.tenant_id, event=event, data=data)
    _changed(incident)
    transaction.on_commit(lambda: _email(incident, event))


def _changed(incident: Incident) -> None:
    """Open pages of the tenant's incidents draw them again (opened, acknowledged, resolved)."""
    payload = {"type": "incident", "id": incident.pk, "workload": incident.workload_id, "state": incident.state}
    broadcast_on_commit(tenant_group(incident.tenant_id), payload)


def _email(incident: Incident, event: str) -> None:
    """Owners and admins hear of an incident opening and resolving by email; a mail server that is
    down must not stop the watcher, so a failure is logged."""
    workload = incident.workload
    recipients = list(
        Membership.objects.filter(tenant_id=incident.tenant_id, role__in=[Role.OWNER, Role.ADMIN]).values_list(
            "user__email", flat=True
        )
    )
    if not recipients:
        return
    verb = "opened" if event == "incident.opened" else "resolved"
    link = f"{settings.PORTAL_URL.rstrip('/')}/t/{workload.tenant.slug}/workloads/{workload.pk}/"
    try:
        send_mail(
            subject=f"[{workload.tenant.slug}] Incident {verb}: {incident.get_cause_display()} on {workload}",
            message=f"{incident.message}\n\nIncident {incident.pk} {verb}. The workload: {link}\n",
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:
        logger.exception("incident email failed", incident=incident.pk)


def _act(incident: Incident, applied_by) -> None:
    """A release that degrades within the window after it went live is rolled back, when the
    environment's deploy settings roll back automatically (the same rollback a failed rollout gets).
    Otherwise, where the settings restart unwell pods, pods that crash-loop or stay unready are
    restarted, only when the incident first opens: a cause that returns after a restart is left to people."""
    if incident.cause not in RELEASE_CAUSES or applied_by is None:
        return
    rollback = deployment_degraded_rollback(
        deployment=applied_by, why=incident.message, within_seconds=settings.DEGRADED_ROLLBACK_SECONDS
    )
    if rollback is not None:
        incident.action = f"Rolled back automatically to release #{rollback.release.number} (deployment {rollback.pk})"
        incident.save(update_fields=["action"])
        return
    first_time = incident.cause in RESTART_CAUSES and incident.count == 1
    if first_time and deploy_settings_for(incident.workload.environment).restart_on_incident:
        _restart_automatically(incident, applied_by)


def _restart_automatically(incident: Incident, deployment) -> None:
    why = f"{incident.get_cause_display()} (incident {incident.pk}): {incident.message}"
    try:
        result = deployment_restart(actor=None, deployment=deployment, justification=why[:2000], automatic=True)
    except ApplicationError as error:
        text = f"Could not restart the pods automatically: {error.message}"
    else:
        number = deployment.release.number
        text, _, request = _outcome(
            result, f"Restarted every pod of release #{number} automatically", f"A restart of release #{number}"
        )
        Incident.objects.filter(pk=incident.pk).update(waits_for=request)
    Incident.objects.filter(pk=incident.pk).update(action=text)
    incident.action = text


WAITS = ": waits for approval in change request"


def _outcome(result, done: str, asked: str) -> tuple[str, bool, int | None]:
    """What an action from an incident did (`done`), or what it waits for (`asked`, and the change
    request's id); and whether it waits."""
    if getattr(result, "waiting_for_cluster", False):
        return f"{done}: made once the cluster answers again", True, None
    waiting = getattr(result, "change_request", None)
    if waiting is not None and waiting.is_open:
        return f"{asked}{WAITS} {waiting.pk}", True, waiting.pk
    return done, False, None


def incidents_change_decided(*, change_request_id: int, made: bool, outcome: str) -> None:
    """The change request an incident's action waited for was decided: the incident says whether the
    action was made after all (an approval carried out) or not (rejected, withdrawn, expired, failed)."""
    for incident in Incident.objects.filter(waits_for=change_request_id):
        asked = incident.action.split(WAITS)[0]
        said = "made once it was approved" if made else f"not made: {outcome[:1].lower()}{outcome[1:]}"
        incident.action, incident.waits_for = f"{asked}: {said} (change request {change_request_id})", None
        incident.save(update_fields=["action", "waits_for"])
        _changed(incident)


def _live_of(incident: Incident):
    # A resolved incident is acted on too: a crash loop flaps between reads, and the person acts on the
    # workload, not on the incident's state.
    workload = incident.workload
    live = live_deployment(workload.application, workload.environment)
    if live is None:
        raise ApplicationError(
            f"Nothing of {workload.application.name} runs in {workload.environment.name} to act on.",
            code=NOT_RUNNING,
            status=409,
        )
    return live


def _acted(actor: Principal, incident: Incident, outcome: tuple[str, bool, int | None]) -> Incident:
    """Record on the incident (and in the audit trail) what a person did from it; `waiting` tells the
    caller the change is not made yet."""
    text, incident.waiting, incident.waits_for = outcome
    before = incident.action
    incident.action = f"{text} (by {actor.user.email})" if actor.user is not None else text
    with transaction.atomic():
        incident.save(update_fields=["action", "waits_for"])
        audit_record(
            actor=actor,
            action="incident.act",
            obj=incident,
            tenant=incident.tenant,
            changes={"action": [before, incident.action]},
        )
    return incident


def incident_restart(
    *, actor: Principal, incident: Incident, justification: str = "", break_glass_reason: str = ""
) -> Incident:
    """Restart the unwell workload's pods from its incident: the live deployment's Restart, with its
    approvals, freezes and audit. The incident records it, or the change request it waits for."""
    require(policy_for(Incident).can_change(actor, incident), tenant=incident.tenant)
    live = _live_of(incident)
    result = deployment_restart(
        actor=actor, deployment=live, justification=justification, break_glass_reason=break_glass_reason
    )
    number = live.release.number
    return _acted(
        actor,
        incident,
        _outcome(result, f"Restarted every pod of release #{number}", f"A restart of release #{number}"),
    )


def incident_scale(
    *, actor: Principal, incident: Incident, replicas: int, justification: str = "", break_glass_reason: str = ""
) -> Incident:
    """Scale the workload from its incident: the live deployment's Scale, within the tenant's quotas; an
    autoscaled release is refused (its autoscaler owns the replicas between its bounds). The count
    becomes the workload's formation, as any scale through the portal."""
    require(policy_for(Incident).can_change(actor, incident), tenant=incident.tenant)
    live = _live_of(incident)
    result = deployment_scale(
        actor=actor,
        deployment=live,
        replicas=replicas,
        justification=justification,
        break_glass_reason=break_glass_reason,
    )
    return _acted(
        actor, incident, _outcome(result, f"Scaled to {replicas} replicas", f"A scale to {replicas} replicas")
    )


def _locked(incident: Incident) -> None:
    """The watcher's lock (incidents_sync): one decision about the workload's incidents at a time, so two
    people acting at once, or a person and the watcher, act once. The incident is read again under it."""
    Workload.objects.select_for_update().filter(pk=incident.workload_id).first()
    incident.refresh_from_db(fields=["state", "resolved_at", "resolved_by", "acknowledged_at", "acknowledged_by"])


def incident_acknowledge(*, actor: Principal, incident: Incident) -> Incident:
    """Someone is looking at it: recorded, so the rest of the team knows. The first to say so is named;
    acknowledging again changes nothing."""
    require(policy_for(Incident).can_change(actor, incident), tenant=incident.tenant)
    with transaction.atomic():
        _locked(incident)
        if incident.acknowledged_at is not None:
            return incident
        incident.acknowledged_at, incident.acknowledged_by = timezone.now(), actor.user
        incident.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(actor=actor, action="incident.acknowledge", obj=incident, tenant=incident.tenant, changes={})
        _changed(incident)
    return incident


def incident_resolve(*, actor: Principal, incident: Incident) -> Incident:
    """Close it by hand; if the cause is still there, the next read of the cluster opens it again."""
    require(policy_for(Incident).can_change(actor, incident), tenant=incident.tenant)
    with transaction.atomic():
        _locked(incident)
        if incident.state != "open":
            raise ApplicationError("The incident is resolved already.", code=ALREADY_RESOLVED, status=409)
        _resolve(incident, timezone.now(), by=actor.user)
        audit_record(actor=actor, action="incident.resolve", obj=incident, tenant=incident.tenant, changes={})
    return incident
