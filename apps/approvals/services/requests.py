"""Change requests: open (through the gate), decide, withdraw, expire, and carry out once approved.

A request's row is locked for every decision, so two approvers deciding at the same moment are
serialised: exactly one of them closes the last stage, and the deployment is queued once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import CONFLICT, INVALID, ApplicationError, require
from apps.core.events import emit_on_commit
from apps.core.governance import Change, Verdict
from apps.core.locks import lock_until_commit
from apps.core.policies import policy_for
from apps.core.realtime import broadcast_on_commit, tenant_group, user_group
from apps.deployments import services as deployments
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_release, deployment_transition, outage_open
from apps.marketplace import services as marketplace
from apps.marketplace.models import ServiceInstance
from apps.tenants.principals import Principal
from apps.tenants.services import quota_set
from apps.tenants.stepup import require_step_up
from apps.traffic import services as traffic
from apps.traffic.models import Route
from apps.workloads.incidents import incidents_change_decided

from ..changes import render_change
from ..choices import CARRIED_OUT_LATER, OPEN, ChangeKind, RequestState
from ..choices import Verdict as DecisionVerdict
from ..eligibility import decided_by_operators, refusal, waiting_on
from ..gate import frozen
from ..impact import impact_of
from ..models import ApprovalRules, ChangeRequest, Decision
from ..selectors import DEFAULT_STAGE, OPERATOR_STAGE, active_freeze, approval_terms

User = get_user_model()

# Refusals, as constants that tests import.
CHANGE_MOVED = "change_moved"
EXECUTED = "Approved and carried out"
CANNOT_VERIFY = "cannot_verify_change"
NOT_OPEN = "request_closed"
EXPIRED = "Expired: nobody decided in time"
WAITS_FOR_CLUSTER = (
    "Approved; the cluster does not answer, so it is made once it does, within the deployment's progress "
    "deadline (the deployment shows when)"
)
UNFINISHED = (
    "Approved, but carrying it out did not finish: the cluster or the worker did not answer in time, so it "
    "may not have been made. Check what runs and ask again if needed."
)
UNFINISHED_AFTER = timedelta(minutes=10)

# An operation on what runs, asked for again while the same one waits, is that one: approvers decide once,
# not once per click, per member or per incident action. The parameters that make two asks the same
# (a restart is a restart whoever or whatever asks; a scale is the same only to the same count).
SAME_ASK: dict[str, tuple[str, ...]] = {
    ChangeKind.RESTART: (),
    ChangeKind.SCALE: ("replicas",),
    ChangeKind.REMOVE: ("application",),
    ChangeKind.HEAL: ("colour",),
}


# --- Opening -----------------------------------------------------------------------------------


def change_request_open(*, change: Change, verdict: Verdict) -> ChangeRequest:
    """File the request for a change the gate governs. A break-glass change, and a restorative one
    (cancel, pause, switch back, roll back), is recorded as approved (break-glass flagged) and a
    post-hoc review request is opened for it instead."""
    actor: Principal | None = change.actor  # None: the platform asks (a self-heal)
    if not (verdict.break_glass or verdict.restorative) and (waiting := _asked_already(change)):
        return waiting
    terms = _terms(change)
    now = timezone.now()
    request = ChangeRequest(
        tenant=change.tenant,
        kind=change.kind,
        environment=change.environment,
        params=change.params,
        deployment=change.subject if isinstance(change.subject, Deployment) else None,
        title=change.title[:200],
        justification=change.justification.strip(),
        requested_by=actor.user if actor is not None and actor.is_authenticated else None,
        requested_with_key=actor.api_key if actor is not None else None,
        stages=terms["stages"],
        allow_self_approval=terms["allow_self_approval"],
        expires_at=now + timedelta(hours=terms["expire_after_hours"]) if terms["expire_after_hours"] else None,
    )
    rendered = render_change(request)
    request.change_hash, request.change = rendered.fingerprint, rendered.change
    request.impact = impact_of(request)
    if verdict.break_glass:
        return _made_at_once(request, change, now, break_glass=True)
    if verdict.restorative:
        return _made_at_once(request, change, now, break_glass=False)
    request.save()
    audit_record(
        actor=change.actor,
        action="change_request.open",
        obj=request,
        tenant=request.tenant,
        changes={"title": [None, request.title], "justification": [None, request.justification]},
    )
    _announce(request)
    return request


def _asked_already(change: Change) -> ChangeRequest | None:
    """The open request for the same operation on the same deployment, if there is one. Two asks at the
    same moment are serialised by a lock held until the caller's transaction ends, so they find one
    request between them rather than opening two."""
    if change.kind not in SAME_ASK or not isinstance(change.subject, Deployment):
        return None
    lock_until_commit(f"change:{change.kind}:{change.subject.pk}")
    same = {key: change.params.get(key) for key in SAME_ASK[change.kind]}
    waiting = ChangeRequest.objects.filter(deployment=change.subject, kind=change.kind, state__in=OPEN)
    waiting = waiting.exclude(expires_at__lte=timezone.now())  # past its time, it can no longer be approved
    return next((r for r in waiting.order_by("pk") if all(r.params.get(k) == v for k, v in same.items())), None)


def _terms(change: Change) -> dict:
    if change.kind == ChangeKind.QUOTA:
        return {
            "stages": [OPERATOR_STAGE],
            "allow_self_approval": False,
            "expire_after_hours": ApprovalRules.current().max_pending_hours,
        }
    return approval_terms(change.environment) or {
        "stages": [DEFAULT_STAGE],
        "allow_self_approval": False,
        "expire_after_hours": None,
    }


def _made_at_once(request: ChangeRequest, change: Change, now, *, break_glass: bool) -> ChangeRequest:
    """Record a change that did not wait (break-glass, or restorative) as approved, with a review after the fact."""
    if break_glass:
        reason = change.break_glass_reason.strip()
        request.break_glass, request.break_glass_reason = True, reason
        request.outcome = f"Pushed past approval with break-glass: {reason}"
        what, action = "break-glass change", "change_request.break_glass"
    else:
        reason = change.justification.strip() or "no reason given"
        request.outcome = f"Restorative change, made at once: {reason}"
        what, action = "restorative change", "change_request.restorative"
    request.state = RequestState.APPROVED
    request.justification = request.justification or reason
    request.decided_at = request.executed_at = now
    request.expires_at = None
    request.save()
    review = ChangeRequest.objects.create(
        tenant=request.tenant,
        kind=ChangeKind.REVIEW,
        environment=request.environment,
        review_of=request,
        deployment=request.deployment,
        title=f"Review of {what}: {request.title}"[:200],
        justification=reason,
        requested_by=request.requested_by,
        requested_with_key=request.requested_with_key,
        stages=request.stages,
        allow_self_approval=False,
        change_hash=request.change_hash,
        change=request.change,
        impact=request.impact,
    )
    audit_record(
        actor=change.actor,
        action=action,
        obj=request,
        tenant=request.tenant,
        changes={"title": [None, request.title], "reason": [None, reason], "review": [None, review.pk]},
    )
    _announce(request)
    _announce(review)
    return request


# --- Deciding ----------------------------------------------------------------------------------


def change_request_decide(
    *, actor: Principal, change_request: ChangeRequest, verdict: str, comment: str = ""
) -> ChangeRequest:
    """Approve or reject the current stage. A person deciding by session must have re-authenticated
    recently (apps/tenants/stepup.py). The change is rendered again first: when it moved since the
    approvals so far were given, they no longer count, the request goes back to its first stage with
    the new diff, and this decision is refused so the approver looks at what changed."""
    if not decided_by_operators(change_request):
        require(policy_for(ChangeRequest).allows(actor, "decide", change_request.tenant), tenant=change_request.tenant)
    if verdict not in DecisionVerdict.values:
        raise ApplicationError("Decide with approve or reject.", code=INVALID, field="verdict")
    _refuse_if_ineligible(actor, change_request)
    require_step_up(actor)
    _refuse_approval_in_freeze(change_request, verdict)
    rendered = render_change(change_request)  # outside the lock: it may ask the cluster
    if rendered.change.get("live_error"):
        raise ApplicationError(
            f"The change cannot be checked against the cluster now, so nothing was decided. "
            f"{rendered.change['live_error']}",
            code=CANNOT_VERIFY,
            status=503,
        )
    with transaction.atomic():
        request = (
            ChangeRequest.objects.select_for_update(of=("self",))
            .select_related("tenant", "environment")
            .get(pk=change_request.pk)
        )
        _refuse_if_ineligible(actor, request)
        if _has_expired(request):  # the sweep has not come yet: it expires now, and is not decided
            _close(request, RequestState.EXPIRED, EXPIRED, None)
            happened = "expired"
        elif rendered.fingerprint != request.change_hash:
            _change_moved(request, rendered)
            happened = "moved"
        else:
            _record_decision(actor, request, verdict, comment.strip(), rendered.fingerprint)
            happened = "decided"
    if happened == "expired":
        raise ApplicationError(f"{EXPIRED}, so nothing was decided.", code=NOT_OPEN, status=409)
    if happened == "moved":
        raise ApplicationError(
            "The change moved since it was requested or approved (the release, its template, the "
            "environment or the live state differs). Earlier approvals no longer count; review "
            "the new diff and decide again.",
            code=CHANGE_MOVED,
            status=409,
        )
    change_request.refresh_from_db()
    return change_request


def _refuse_approval_in_freeze(request: ChangeRequest, verdict: str) -> None:
    """An approval may be the one that carries the change out, so none is given while the environment is
    frozen (a break-glass request was made at once and never waits here). Rejecting stays open."""
    carries_out = request.kind == ChangeKind.DEPLOY or request.kind in CARRIED_OUT_LATER
    if verdict != DecisionVerdict.APPROVE or request.environment_id is None or not carries_out:
        return
    freeze = active_freeze(request.environment)
    if freeze is not None:
        raise frozen(request.environment, freeze, "Approve once it ends, or an owner can break glass.")


def _has_expired(request: ChangeRequest, now=None) -> bool:
    return request.expires_at is not None and request.expires_at <= (now or timezone.now())


def _refuse_if_ineligible(actor: Principal, request: ChangeRequest) -> None:
    problem = refusal(actor, request)
    if problem is not None:
        code, message = problem
        raise ApplicationError(message, code=code, status=409 if code in (NOT_OPEN, "already_decided") else 403)


def _change_moved(request: ChangeRequest, rendered) -> None:
    now = timezone.now()
    voided = request.decisions.filter(voided_at__isnull=True).update(voided_at=now)
    request.change_hash, request.change = rendered.fingerprint, rendered.change
    request.revision += 1
    request.current_stage = 1
    request.impact = impact_of(request)
    request.save(update_fields=["change_hash", "change", "revision", "current_stage", "impact"])
    audit_record(
        actor=None,
        action="change_request.change_moved",
        obj=request,
        tenant=request.tenant,
        changes={"revision": [request.revision - 1, request.revision], "voided_decisions": [None, voided]},
    )
    _announce(request)


def _record_decision(actor: Principal, request: ChangeRequest, verdict: str, comment: str, fingerprint: str) -> None:
    decision = Decision.objects.create(
        change_request=request,
        stage=request.current_stage,
        approver=actor.user,
        api_key=actor.api_key,
        verdict=verdict,
        comment=comment,
        change_hash=fingerprint,
        revision=request.revision,
    )
    audit_record(
        actor=actor,
        action=f"change_request.{verdict}",
        obj=request,
        tenant=request.tenant,
        changes={"stage": [None, decision.stage], "comment": [None, comment]},
    )
    if verdict == DecisionVerdict.REJECT:
        who = actor.user.email
        _close(request, RequestState.REJECTED, f"Rejected by {who}" + (f": {comment}" if comment else ""), actor)
        return
    stage = request.waiting_stage()
    approvals = request.decisions.filter(
        stage=request.current_stage, verdict=DecisionVerdict.APPROVE, voided_at__isnull=True
    ).count()
    if approvals < stage["quorum"]:
        _announce(request)
        return
    if request.stage(request.current_stage + 1) is not None:
        request.current_stage += 1
        request.save(update_fields=["current_stage"])
        _announce(request)
        return
    _close(request, RequestState.APPROVED, "Approved", actor)
    _carry_out(request, actor)


def _close(request: ChangeRequest, state: str, outcome: str, actor: Principal | None) -> None:
    """End the request; a deployment that waited for it is cancelled unless the request was approved."""
    request.state, request.outcome, request.decided_at = state, outcome, timezone.now()
    request.save(update_fields=["state", "outcome", "decided_at"])
    audit_record(
        actor=actor,
        action=f"change_request.{state}",
        obj=request,
        tenant=request.tenant,
        changes={"state": [RequestState.PENDING, state], "outcome": [None, outcome]},
    )
    if state != RequestState.APPROVED and request.kind == ChangeKind.ADDON:
        marketplace.instance_declined(instance_id=request.params["instance"], reason=outcome)
    if state != RequestState.APPROVED and request.kind == ChangeKind.ROUTE:
        traffic.route_change_declined(params=request.params)
    if state != RequestState.APPROVED and request.kind in (ChangeKind.RESTART, ChangeKind.SCALE):
        incidents_change_decided(change_request_id=request.pk, made=False, outcome=outcome)
    if state != RequestState.APPROVED and request.kind == ChangeKind.DEPLOY:
        deployment = _deployment_of(request)
        if deployment.state == State.PENDING_APPROVAL:
            deployment_transition(
                deployment=deployment,
                to_state=State.CANCELLED,
                actor=actor,
                reason=f"Change request {request.pk}: {outcome}",
            )
    _announce(request)


def _carry_out(request: ChangeRequest, actor: Principal) -> None:
    """Make the approved change: a waiting deployment is queued in this very transaction; other kinds
    run in a task after commit, since they talk to the cluster."""
    if request.kind == ChangeKind.DEPLOY:
        deployment_release(
            deployment=_deployment_of(request), actor=actor, reason=f"Approved (change request {request.pk}); queued"
        )
        request.executed_at = timezone.now()
        request.save(update_fields=["executed_at"])
    elif request.kind == ChangeKind.QUOTA:
        params = request.params
        quota_set(
            operator=actor,
            tenant=request.tenant,
            resource=params["resource"],
            limit=params["limit"],
            environment=request.environment,
        )
        request.executed_at = timezone.now()
        request.save(update_fields=["executed_at"])
    elif request.kind in CARRIED_OUT_LATER:
        from ..tasks import carry_out_change_request

        transaction.on_commit(lambda: carry_out_change_request.delay(request.pk))


def change_request_execute(*, change_request: ChangeRequest) -> None:
    """Carry out an approved change that is not a deploy (a scale, restart, removal or settings change),
    as the member who asked for it; what happened is recorded on the request."""
    request = ChangeRequest.objects.select_related(
        "deployment__release", "deployment__application", "deployment__environment", "environment", "tenant"
    ).get(pk=change_request.pk)
    if request.state != RequestState.APPROVED or request.executed_at is not None:
        return
    with transaction.atomic():
        if request.kind in BOUND_UNTIL_MADE and request.deployment_id:
            # Approved changes of one deployment are made one at a time, each checked against what the
            # one before it left: two scales approved at once were both made, whichever came last winning.
            lock_until_commit(f"execute:{request.deployment_id}")
        try:
            moved = _moved_since_approval(request)
            if moved:
                outcome = f"Approved, but not carried out: {moved} Ask again for what you want now."
            else:
                _execute(request)
                outcome = WAITS_FOR_CLUSTER if _waits_for_cluster(request) else EXECUTED
        except ApplicationError as exc:
            outcome = f"Approved, but carrying it out failed: {exc.message}"
        change_request_executed(change_request=request, outcome=outcome)


def change_request_executed(*, change_request: ChangeRequest, outcome: str) -> None:
    """Record what became of an approved change, once: the outcome people read on the request."""
    if not ChangeRequest.objects.filter(pk=change_request.pk, executed_at__isnull=True).update(
        executed_at=timezone.now(), outcome=outcome
    ):
        return
    if change_request.kind in (ChangeKind.RESTART, ChangeKind.SCALE):
        made = outcome in (EXECUTED, WAITS_FOR_CLUSTER)
        incidents_change_decided(change_request_id=change_request.pk, made=made, outcome=outcome)
    _announce(change_request)


# The operations on what runs are bound to the live state they were approved against, until they are
# made: two scales approved one after the other were both "carried out", and which count won was chance.
BOUND_UNTIL_MADE = (ChangeKind.SCALE, ChangeKind.RESTART, ChangeKind.REMOVE)


def _moved_since_approval(request: ChangeRequest) -> str:
    """Why the approved change is not the one to make any more, or "" (also when the cluster cannot be
    read now: the operation itself then waits for it)."""
    if request.kind not in BOUND_UNTIL_MADE:
        return ""
    rendered = render_change(request)
    if rendered.change.get("live_error") or rendered.fingerprint == request.change_hash:
        return ""
    now = "; ".join(rendered.change.get("summary") or []) or "what runs differs"
    return f"it changed after it was approved (now: {now})."


def _waits_for_cluster(request: ChangeRequest) -> bool:
    deployment = request.deployment
    return deployment is not None and request.kind in BOUND_UNTIL_MADE and outage_open(deployment) is not None


def change_requests_unfinished(*, now=None) -> int:
    """Approved changes whose carrying out never reported back (its worker died or ran out of time):
    said so, rather than "Approved" for ever. They are not made again, since part of one may have been."""
    cutoff = (now or timezone.now()) - UNFINISHED_AFTER
    unfinished = ChangeRequest.objects.filter(
        state=RequestState.APPROVED, executed_at__isnull=True, decided_at__lt=cutoff, kind__in=CARRIED_OUT_LATER
    )
    count = 0
    for request in unfinished:
        change_request_executed(change_request=request, outcome=UNFINISHED)
        count += 1
    return count


def _execute(request: ChangeRequest) -> None:
    from apps.catalog.models import Application

    # None when nobody asked (the platform's automatic restart) or the member is gone: the policies refuse then.
    actor = Principal(request.requested_by) if request.requested_by is not None else None
    params = request.params
    if request.kind == ChangeKind.SCALE:
        deployments.deployment_scale(
            actor=_asker(actor, request), deployment=_deployment_of(request), replicas=params["replicas"], approved=True
        )
    elif request.kind == ChangeKind.RESTART:
        deployments.deployment_restart(
            actor=actor, deployment=_deployment_of(request), approved=True, automatic=bool(params.get("automatic"))
        )
    elif request.kind == ChangeKind.REMOVE:
        application = Application.objects.get(pk=params["application"], tenant=request.tenant_id)
        deployments.application_remove(
            actor=_asker(actor, request), application=application, environment=request.environment, approved=True
        )
    elif request.kind == ChangeKind.ADDON:
        marketplace.instance_approved(instance_id=params["instance"])
    elif request.kind == ChangeKind.SETTINGS:
        settings_now = deployments.deploy_settings_for(request.environment)
        deployments.deploy_settings_update(
            actor=_asker(actor, request),
            settings=settings_now,
            auto_rollback=params.get("auto_rollback"),
            self_heal=params.get("self_heal"),
            heal_skips_approval=params.get("heal_skips_approval"),
            restart_on_incident=params.get("restart_on_incident"),
            require_digest=params.get("require_digest"),
            approved=True,
        )
    elif request.kind == ChangeKind.ROUTE:
        traffic.route_change_carry_out(params=params, actor=actor)
    elif request.kind == ChangeKind.HEAL:
        deployments.deployment_heal(
            deployment=_deployment_of(request), drift=params["drift"], colour=params.get("colour", ""), approved=True
        )


def _asker(actor: Principal | None, request: ChangeRequest) -> Principal:
    """The member a change is made for. A change nobody asked for (or whose member is gone) is refused,
    as the policies of the services that make it would refuse it."""
    if actor is None:
        require(False, tenant=request.tenant)
    return actor


def _deployment_of(request: ChangeRequest) -> Deployment:
    """The deployment a deploy, scale, restart or heal request is about: set when it was asked for, and
    protected from deletion while the request exists."""
    if request.deployment is None:
        raise ApplicationError(f"Change request {request.pk} names no deployment.", code=CONFLICT, status=409)
    return request.deployment


# --- Withdrawing and expiring ------------------------------------------------------------------


def change_request_withdraw(*, actor: Principal, change_request: ChangeRequest, reason: str = "") -> ChangeRequest:
    """The requester (or an admin) takes the request back; a waiting deployment is cancelled with it."""
    require(policy_for(ChangeRequest).can_withdraw(actor, change_request), tenant=change_request.tenant)
    with transaction.atomic():
        request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if not request.is_open:
            raise ApplicationError(CLOSED_MESSAGE, code=NOT_OPEN, status=409)
        who = actor.user.email
        _close(
            request, RequestState.CANCELLED, f"Withdrawn by {who}" + (f": {reason.strip()}" if reason else ""), actor
        )
    return request


CLOSED_MESSAGE = "This change request is closed; nothing can be decided on it any more."


def change_requests_withdraw_for(*, subject, reason: str) -> None:
    """Close the open requests of a deployment that was cancelled some other way or superseded by a
    newer one, or of an add-on instance removed while it waited."""
    if isinstance(subject, Deployment):  # its deploy, and what was asked of it once it ran (not a removal)
        kinds = [ChangeKind.DEPLOY, ChangeKind.RESTART, ChangeKind.SCALE, ChangeKind.HEAL]
        waiting = ChangeRequest.objects.filter(deployment=subject, kind__in=kinds)
    elif isinstance(subject, ServiceInstance):
        waiting = ChangeRequest.objects.filter(kind=ChangeKind.ADDON, params__instance=subject.pk)
    elif isinstance(subject, Route):
        waiting = ChangeRequest.objects.filter(kind=ChangeKind.ROUTE, params__route=subject.pk)
    else:
        return
    for request in waiting.select_for_update().filter(state=RequestState.PENDING):
        _close(request, RequestState.CANCELLED, reason, None)


def change_requests_expire(*, now=None) -> int:
    """Reject every open request whose time ran out; returns how many."""
    now = now or timezone.now()
    expired = 0
    for pk in ChangeRequest.objects.filter(state=RequestState.PENDING, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            request = ChangeRequest.objects.select_for_update().filter(pk=pk, state=RequestState.PENDING).first()
            if request is None:
                continue
            _close(request, RequestState.EXPIRED, EXPIRED, None)
            expired += 1
    return expired


# --- Telling people ----------------------------------------------------------------------------


def request_payload(request: ChangeRequest) -> dict:
    return {
        "type": "change_request.updated",
        "change_request": request.pk,
        "state": request.state,
        "current_stage": request.current_stage,
        "revision": request.revision,
        "deployment": request.deployment_id,
        "outcome": request.outcome,
    }


def _announce(request: ChangeRequest) -> None:
    """Broadcast the request's new state to the tenant's pages, and mail whoever it now waits for."""
    payload = request_payload(request)
    emit_on_commit(
        tenant_id=request.tenant_id,
        event="change_request.updated" if request.is_open else f"change_request.{request.state}",
        data={key: value for key, value in payload.items() if key != "type"},
    )
    broadcast_on_commit(tenant_group(request.tenant_id), payload)
    if request.requested_by_id:
        broadcast_on_commit(user_group(request.requested_by_id), payload)
    if request.is_open:
        from ..tasks import notify_approvers

        pk, revision, stage = request.pk, request.revision, request.current_stage
        transaction.on_commit(lambda: notify_approvers.delay(pk, revision, stage))


def approvers_notify(*, change_request: ChangeRequest) -> int:
    """Mail the members the request waits for now; returns how many were told."""
    if decided_by_operators(change_request):
        recipients = list(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))
        url = f"{settings.PORTAL_URL}/operator/approvals/"
    else:
        recipients = [m.user.email for m in waiting_on(change_request)]
        url = f"{settings.PORTAL_URL}/t/{change_request.tenant.slug}/approvals/{change_request.pk}/"
    if not recipients:
        return 0
    stage = change_request.waiting_stage()
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Approval needed: {change_request.title}",
        message=(
            f"{change_request.requested_by.email if change_request.requested_by else 'The platform'} asks for "
            f"this change:\n\n  {change_request.title}\n\nWhy: {change_request.justification}\n\n"
            f"It waits for stage {stage['position']} ({stage['name']}). Review the diff and decide:\n{url}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
