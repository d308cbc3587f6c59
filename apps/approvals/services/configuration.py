"""Approval policies, freeze windows and the platform's approval rules: set, checked, audited."""

from __future__ import annotations

from datetime import datetime, time

from django.db import transaction

from apps.core.audit import audit_record
from apps.core.errors import INVALID, ApplicationError, require, validate_model
from apps.core.policies import policy_for
from apps.tenants.models import Membership
from apps.tenants.principals import Principal

from ..choices import APPROVER_ROLES, Recurrence
from ..eligibility import eligible_members
from ..models import ApprovalPolicy, ApprovalRules, ApprovalStage, FreezeWindow
from ..selectors import governing_policy

# Refusals, as constants that tests import.
UNSATISFIABLE = "no_eligible_approver"
OUTSIDE_LIMITS = "outside_platform_limits"
MAX_STAGES = 5
OWNERS_GOVERN = (
    "Only owners change or remove a policy that requires approval, or set one for an environment it governs."
)


# --- Policies ----------------------------------------------------------------------------------


NOT_A_MEMBER_MESSAGE = "Stage {position}: every named approver must be a member of the tenant."


def _member_id(members: dict[str, int], given, position: int) -> int:
    """A named approver (user id or email) among the tenant's members. An email or id of someone
    elsewhere on the platform and one nobody has get the same answer: it must not tell who exists."""
    if isinstance(given, str):
        found = {email.lower(): pk for email, pk in members.items()}.get(given.strip().lower())
    else:
        found = given if given in members.values() else None
    if found is None:
        raise ApplicationError(NOT_A_MEMBER_MESSAGE.format(position=position), code=INVALID, field="stages")
    return found


def _clean_stages(tenant, stages: list[dict]) -> list[dict]:
    """Validate stages given as [{name, quorum, roles, members (user ids)}]; positions follow the order."""
    if len(stages) > MAX_STAGES:
        raise ApplicationError(f"A policy has at most {MAX_STAGES} stages.", code=INVALID, field="stages")
    members = dict(Membership.objects.filter(tenant=tenant).values_list("user__email", "user_id"))
    cleaned = []
    for position, stage in enumerate(stages, start=1):
        name = (stage.get("name") or f"Stage {position}").strip()[:80]
        roles = sorted(set(stage.get("roles") or []))
        named = sorted({_member_id(members, given, position) for given in stage.get("members") or []})
        if set(roles) - set(APPROVER_ROLES):
            raise ApplicationError(
                f"Stage {position}: approver roles are {', '.join(APPROVER_ROLES)} (a viewer can "
                "never deploy, so could never approve).",
                code=INVALID,
                field="stages",
            )
        if not roles and not named:
            raise ApplicationError(
                f"Stage {position}: name at least one role or member who approves.", code=INVALID, field="stages"
            )
        quorum = stage.get("quorum") or 1
        if not isinstance(quorum, int) or not 1 <= quorum <= 10:
            raise ApplicationError(
                f"Stage {position}: the quorum is a number from 1 to 10.", code=INVALID, field="stages"
            )
        cleaned.append({"position": position, "name": name, "quorum": quorum, "roles": roles, "members": named})
    return cleaned


def _check_satisfiable(tenant, environments, stages: list[dict]) -> None:
    """Every stage needs `quorum` people who could approve it, and one person approves one stage only."""
    for environment in environments:
        everyone = set()
        for stage in stages:
            eligible = {m.user_id for m in eligible_members(tenant, stage, environment)}
            where = f" in {environment.name}" if environment is not None else ""
            if len(eligible) < stage["quorum"]:
                raise ApplicationError(
                    f"Stage {stage['position']} ({stage['name']}) needs {stage['quorum']} approval(s) but only "
                    f"{len(eligible)} member(s) could approve it{where}: approvers must be allowed to deploy there "
                    "themselves.",
                    code=UNSATISFIABLE,
                    field="stages",
                )
            everyone |= eligible
        if len(everyone) < sum(stage["quorum"] for stage in stages):
            raise ApplicationError(
                "The stages need more distinct approvers than the tenant has: one person approves one stage only.",
                code=UNSATISFIABLE,
                field="stages",
            )


def _check_limits(
    rules: ApprovalRules, environment, *, requires_approval, allow_self_approval, expire_after_hours, stages
) -> None:
    production = environment is None or environment.is_production
    if production and rules.production_requires_approval and not requires_approval:
        raise ApplicationError(
            "The platform requires approval for production changes.", code=OUTSIDE_LIMITS, field="requires_approval"
        )
    if allow_self_approval and not rules.allow_self_approval:
        raise ApplicationError(
            "The platform does not allow requesters to approve their own changes.",
            code=OUTSIDE_LIMITS,
            field="allow_self_approval",
        )
    if not 1 <= expire_after_hours <= rules.max_pending_hours:
        raise ApplicationError(
            f"Requests expire after 1 to {rules.max_pending_hours} hours on this platform.",
            code=OUTSIDE_LIMITS,
            field="expire_after_hours",
        )
    if production and requires_approval and any(stage["quorum"] < rules.min_quorum for stage in stages):
        raise ApplicationError(
            f"Production stages need a quorum of at least {rules.min_quorum} on this platform.",
            code=OUTSIDE_LIMITS,
            field="stages",
        )


@transaction.atomic
def approval_policy_save(
    *,
    actor: Principal,
    tenant,
    environment=None,
    requires_approval: bool = True,
    allow_self_approval: bool = False,
    expire_after_hours: int = 72,
    stages: list[dict],
) -> ApprovalPolicy:
    """Create or replace the policy of an environment (or the tenant default, without one). Requests
    already open keep the stages they opened with."""
    require(policy_for(ApprovalPolicy).can_add(actor, tenant), tenant=tenant)
    if environment is not None and environment.tenant_id != tenant.pk:
        raise ApplicationError("Choose an environment of this tenant.", code=INVALID, field="environment")
    policy = ApprovalPolicy.objects.select_for_update().filter(tenant=tenant, environment=environment).first()
    # An environment's own policy replaces the tenant default for it: setting one where the default
    # requires approval is changing what governs it, the owners' call as much as editing the default.
    governing = policy or (governing_policy(environment) if environment is not None else None)
    if governing is not None:
        require(policy_for(ApprovalPolicy).can_change(actor, governing), OWNERS_GOVERN, tenant=tenant)
    cleaned = _clean_stages(tenant, stages)
    if requires_approval and not cleaned:
        raise ApplicationError(
            "A policy that requires approval needs at least one stage.", code=INVALID, field="stages"
        )
    _check_limits(
        ApprovalRules.current(),
        environment,
        requires_approval=requires_approval,
        allow_self_approval=allow_self_approval,
        expire_after_hours=expire_after_hours,
        stages=cleaned,
    )
    if requires_approval:
        covered = (
            [environment]
            if environment is not None
            else list(tenant.environments.filter(approval_policy__isnull=True)) or [None]
        )
        _check_satisfiable(tenant, covered, cleaned)
    before = _describe(policy) if policy else None
    if policy is None:
        policy = ApprovalPolicy(tenant=tenant, environment=environment)
    policy.requires_approval, policy.allow_self_approval = requires_approval, allow_self_approval
    policy.expire_after_hours = expire_after_hours
    policy.save()
    policy.stages.all().delete()
    for stage in cleaned:
        row = ApprovalStage.objects.create(
            policy=policy, position=stage["position"], name=stage["name"], quorum=stage["quorum"], roles=stage["roles"]
        )
        row.members.set(stage["members"])
    audit_record(
        actor=actor,
        action="approval_policy.save",
        obj=policy,
        tenant=tenant,
        changes={"policy": [before, _describe(policy)]},
    )
    return policy


def _describe(policy: ApprovalPolicy) -> dict:
    from ..selectors import stages_snapshot

    return {
        "requires_approval": policy.requires_approval,
        "allow_self_approval": policy.allow_self_approval,
        "expire_after_hours": policy.expire_after_hours,
        "stages": stages_snapshot(policy),
    }


def approval_policy_delete(*, actor: Principal, policy: ApprovalPolicy) -> None:
    require(policy_for(ApprovalPolicy).can_delete(actor, policy), OWNERS_GOVERN, tenant=policy.tenant)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="approval_policy.delete",
            obj=policy,
            tenant=policy.tenant,
            changes={"policy": [_describe(policy), None]},
        )
        policy.delete()


# --- Freeze windows ----------------------------------------------------------------------------


def _clean_window(*, recurrence, starts_at, ends_at, weekdays, start_time, end_time) -> dict:
    if recurrence == Recurrence.ONCE:
        if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
            raise ApplicationError("A one-off freeze needs a start and an end.", code=INVALID, field="starts_at")
        if ends_at <= starts_at:
            raise ApplicationError("The freeze must end after it starts.", code=INVALID, field="ends_at")
        return {"starts_at": starts_at, "ends_at": ends_at, "weekdays": [], "start_time": None, "end_time": None}
    if recurrence != Recurrence.WEEKLY:
        raise ApplicationError("A freeze happens once or every week.", code=INVALID, field="recurrence")
    days = sorted(set(weekdays or []))
    if not days or any(not isinstance(day, int) or not 0 <= day <= 6 for day in days):
        raise ApplicationError(
            "Choose the weekdays of the freeze (0 is Monday, 6 is Sunday).", code=INVALID, field="weekdays"
        )
    if not isinstance(start_time, time) or not isinstance(end_time, time):
        raise ApplicationError(
            "A weekly freeze needs a start time and an end time (UTC).", code=INVALID, field="start_time"
        )
    if end_time <= start_time:
        raise ApplicationError(
            "The freeze must end after it starts (on the same day, UTC).", code=INVALID, field="end_time"
        )
    return {"starts_at": None, "ends_at": None, "weekdays": days, "start_time": start_time, "end_time": end_time}


def freeze_window_create(
    *,
    actor: Principal,
    tenant,
    name: str,
    environment=None,
    recurrence: str = Recurrence.ONCE,
    starts_at=None,
    ends_at=None,
    weekdays=None,
    start_time=None,
    end_time=None,
) -> FreezeWindow:
    """Add a freeze: during it, changes to the environment (or every production one) are refused."""
    require(policy_for(FreezeWindow).can_add(actor, tenant), tenant=tenant)
    if not (name or "").strip():
        raise ApplicationError("Name the freeze, e.g. 'Black Friday'.", code=INVALID, field="name")
    if environment is not None and environment.tenant_id != tenant.pk:
        raise ApplicationError("Choose an environment of this tenant.", code=INVALID, field="environment")
    times = _clean_window(
        recurrence=recurrence,
        starts_at=starts_at,
        ends_at=ends_at,
        weekdays=weekdays,
        start_time=start_time,
        end_time=end_time,
    )
    with transaction.atomic():
        window = FreezeWindow.objects.create(
            tenant=tenant,
            environment=environment,
            name=name.strip()[:100],
            recurrence=recurrence,
            created_by=actor.user,
            **times,
        )
        audit_record(
            actor=actor,
            action="freeze_window.create",
            obj=window,
            tenant=tenant,
            changes={
                "name": [None, window.name],
                "recurrence": [None, recurrence],
                "window": [None, _window_text(window)],
            },
        )
    return window


def _window_text(window: FreezeWindow) -> str:
    starts, ends = window.starts_at, window.ends_at
    if window.recurrence == Recurrence.ONCE and starts and ends:  # a one-off window has both (clean())
        return f"{starts.isoformat()} – {ends.isoformat()}"
    return f"weekdays {window.weekdays} {window.start_time}–{window.end_time} UTC"


def freeze_window_delete(*, actor: Principal, window: FreezeWindow) -> None:
    require(
        policy_for(FreezeWindow).can_delete(actor, window),
        "Owners remove freezes; an admin removes one they added while it is not in effect.",
        tenant=window.tenant,
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="freeze_window.delete",
            obj=window,
            tenant=window.tenant,
            changes={"name": [window.name, None], "window": [_window_text(window), None]},
        )
        window.delete()


# --- Platform rules (operators) ----------------------------------------------------------------


def approval_rules_update(*, operator: Principal, **values) -> ApprovalRules:
    """Operators set the limits every tenant's policies must keep."""
    require(operator.is_operator, "Only platform operators set the approval rules.")
    rules = ApprovalRules.current()
    fields = (
        "production_requires_approval",
        "min_quorum",
        "allow_self_approval",
        "max_pending_hours",
        "review_sla_hours",
    )
    before = {field: getattr(rules, field) for field in fields}
    for field, value in values.items():
        if field not in fields:
            raise ApplicationError(f"Unknown rule {field}.", code=INVALID, field=field)
        setattr(rules, field, value)
    validate_model(rules)
    with transaction.atomic():
        rules.save()
        after = {field: getattr(rules, field) for field in fields}
        audit_record(
            actor=operator,
            action="approval_rules.update",
            obj=rules,
            changes={k: [before[k], after[k]] for k in fields if before[k] != after[k]},
        )
    return rules
