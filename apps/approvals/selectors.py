"""Reads of the approvals app: which policy governs an environment, which freeze is on, and queues."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.tenants.roles import Role

from .choices import Recurrence, RequestState
from .eligibility import awaits, waiting_on
from .models import ApprovalPolicy, ApprovalRules, ApprovalStage, ChangeRequest, Decision, FreezeWindow

# The stage used when operators require approval in production and the tenant set no policy.
DEFAULT_STAGE = {
    "position": 1,
    "name": "Admins and owners",
    "quorum": 1,
    "roles": [Role.ADMIN, Role.OWNER],
    "members": [],
}


# Quota increases are decided by the platform's operators, not by the tenant.
OPERATOR_STAGE = {
    "position": 1,
    "name": "Platform operators",
    "quorum": 1,
    "roles": [],
    "members": [],
    "operators": True,
}


def governing_policy(environment) -> ApprovalPolicy | None:
    """The environment's own policy, else the tenant's default."""
    policies = {
        p.environment_id: p
        for p in ApprovalPolicy.objects.filter(
            Q(environment=environment) | Q(tenant_id=environment.tenant_id, environment__isnull=True)
        )
    }
    return policies.get(environment.pk) or policies.get(None)


def stages_snapshot(policy: ApprovalPolicy) -> list[dict]:
    return [
        {
            "position": stage.position,
            "name": stage.name,
            "quorum": stage.quorum,
            "roles": list(stage.roles),
            "members": sorted(member.pk for member in stage.members.all()),
        }
        for stage in policy.stages.prefetch_related("members").order_by("position")
    ]


def approval_terms(environment) -> dict | None:
    """What a change to the environment needs: {stages, allow_self_approval, expire_after_hours}, or None
    when it goes ahead without approval."""
    rules = ApprovalRules.current()
    policy = governing_policy(environment)
    forced = rules.production_requires_approval and environment.is_production
    if policy is not None and (policy.requires_approval or forced):
        stages = stages_snapshot(policy) or [dict(DEFAULT_STAGE, quorum=max(1, rules.min_quorum))]
        return {
            "stages": stages,
            "allow_self_approval": policy.allow_self_approval and rules.allow_self_approval,
            "expire_after_hours": min(policy.expire_after_hours, rules.max_pending_hours),
        }
    if forced:
        return {
            "stages": [dict(DEFAULT_STAGE, quorum=max(1, rules.min_quorum))],
            "allow_self_approval": False,
            "expire_after_hours": rules.max_pending_hours,
        }
    return None


def is_frozen_at(window: FreezeWindow, moment: datetime) -> bool:
    if window.recurrence == Recurrence.ONCE:
        return window.starts_at <= moment < window.ends_at
    moment = moment.astimezone(UTC)
    return moment.weekday() in window.weekdays and window.start_time <= moment.time() < window.end_time


def active_freeze(environment, moment: datetime | None = None) -> FreezeWindow | None:
    """A freeze window covering the environment now: its own, or a tenant-wide one for production."""
    moment = moment or timezone.now()
    scope = Q(environment=environment)
    if environment.is_production:
        scope |= Q(environment__isnull=True)
    windows = FreezeWindow.objects.filter(scope, tenant_id=environment.tenant_id).order_by("pk")
    return next((window for window in windows if is_frozen_at(window, moment)), None)


def freeze_ends(window: FreezeWindow, moment: datetime | None = None) -> datetime:
    moment = moment or timezone.now()
    if window.recurrence == Recurrence.ONCE:
        return window.ends_at
    return moment.astimezone(UTC).replace(
        hour=window.end_time.hour, minute=window.end_time.minute, second=0, microsecond=0
    )


def with_stages(policies: QuerySet[ApprovalPolicy]) -> QuerySet[ApprovalPolicy]:
    """`policies` with their stages in order and each stage's members, in two more queries."""
    stages = Prefetch("stages", queryset=ApprovalStage.objects.prefetch_related("members").order_by("position"))
    return policies.prefetch_related(stages)


def with_decisions(requests: QuerySet[ChangeRequest]) -> QuerySet[ChangeRequest]:
    """`requests` with their decisions (and who made each) and their reviews, as a request's detail shows them."""
    decisions = Prefetch("decisions", queryset=Decision.objects.select_related("approver"))
    return requests.prefetch_related(decisions, "reviews")


def change_request_list_for(principal, *, tenant, state: str = "") -> QuerySet[ChangeRequest]:
    """The tenant's change requests the principal may see, optionally of one state, for the queue."""
    rows = (
        ChangeRequest.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .select_related("environment", "requested_by")
    )
    return rows.filter(state=state) if state else rows


def change_request_for(principal, *, tenant, pk: int) -> ChangeRequest | None:
    """One of the tenant's change requests with everything its page shows, or None if the principal may not see it."""
    rows = (
        ChangeRequest.objects.restrict(principal, "view")
        .filter(tenant=tenant, pk=pk)
        .select_related("tenant", "environment", "requested_by", "deployment", "review_of")
    )
    return with_decisions(rows).first()


def approval_policy_list_for(principal, *, tenant) -> list[ApprovalPolicy]:
    """The tenant's approval policies (its default's environment is None) with their stages in order."""
    return list(
        with_stages(
            ApprovalPolicy.objects.restrict(principal, "view").filter(tenant=tenant).select_related("environment")
        )
    )


def approval_policy_of(*, tenant, environment) -> ApprovalPolicy | None:
    """The policy set for exactly this environment (None: the tenant default), not the one that governs it."""
    return ApprovalPolicy.objects.filter(tenant=tenant, environment=environment).first()


def freeze_window_list_for(principal, *, tenant) -> list[FreezeWindow]:
    return list(
        FreezeWindow.objects.restrict(principal, "view")
        .filter(tenant=tenant)
        .select_related("environment", "created_by")
    )


def tenant_row_for(principal, model, *, tenant, pk: int):
    """One row of a tenant-owned `model` that the principal may see, or None."""
    return model.objects.restrict(principal, "view").filter(tenant=tenant, pk=pk).first()


def waiting_for(user, principal_tenants: list[int]):
    """Open requests in the user's tenants whose current stage waits for this user."""
    pending = (
        ChangeRequest.objects.filter(tenant_id__in=principal_tenants, state=RequestState.PENDING)
        .select_related("tenant", "environment", "requested_by")
        .order_by("created_at")
    )
    return [cr for cr in pending if any(m.user_id == user.pk for m in waiting_on(cr))]


def waiting_count(user, role: str | None, tenant) -> int:
    """How many of `waiting_for(user, [tenant.pk])` there are, for the member whose role in the tenant
    is `role`, in one query: whether each request `awaits` them, with whether they decided already read
    alongside each request."""
    decided = Decision.objects.filter(change_request=OuterRef("pk"), approver_id=user.pk, voided_at__isnull=True)
    pending = (
        ChangeRequest.objects.filter(tenant=tenant, state=RequestState.PENDING)
        .select_related("environment__tenant")
        .annotate(decided=Exists(decided))
    )
    return sum(1 for cr in pending if awaits(cr, user, role, decided=cr.decided))


def stage_progress(change_request) -> list[dict]:
    """Each stage of a request with the approvals that count so far and where it stands."""
    from django.contrib.auth import get_user_model

    from .choices import Verdict

    named = {pk for stage in change_request.stages for pk in stage["members"]}
    emails = dict(get_user_model().objects.filter(pk__in=named).values_list("pk", "email")) if named else {}
    decisions = list(change_request.decisions.all())
    rows = []
    for stage in change_request.stages:
        position = stage["position"]
        approvals = sum(
            1 for d in decisions if d.stage == position and d.verdict == Verdict.APPROVE and d.voided_at is None
        )
        if change_request.state == RequestState.APPROVED or position < change_request.current_stage:
            status = "approved"
        elif position > change_request.current_stage:
            status = "waiting" if change_request.is_open else "closed"
        elif change_request.is_open:
            status = "current"
        else:
            status = "rejected" if change_request.state == RequestState.REJECTED else "closed"
        rows.append(
            {
                "position": position,
                "name": stage["name"],
                "quorum": stage["quorum"],
                "approvals": approvals,
                "status": status,
                "roles": list(stage["roles"]),
                "members": sorted(emails.get(pk, str(pk)) for pk in stage["members"]),
            }
        )
    return rows


def change_requests_of_every_tenant() -> QuerySet[ChangeRequest]:
    """Every tenant's change requests with what the operator console shows of them (its views decided who asks)."""
    return ChangeRequest.objects.select_related("tenant", "environment", "requested_by")


def pending_change_requests(*, tenant_slug: str | None = None) -> QuerySet[ChangeRequest]:
    """Every tenant's pending change requests, oldest first; `tenant_slug` narrows to one tenant."""
    pending = change_requests_of_every_tenant().filter(state=RequestState.PENDING).order_by("created_at", "id")
    return pending.filter(tenant__slug=tenant_slug) if tenant_slug else pending
