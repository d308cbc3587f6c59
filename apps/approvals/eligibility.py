"""Who may decide on a stage of a change request, as one function the policy, the services and the
pages share. The rules, in order: the request is open; the stage names the member's role or the
member; the member may deploy to the environment themselves; the member did not ask for the change
(unless the policy allows it); the member has not decided on this request already.
"""

from __future__ import annotations

from apps.core.policies import policy_for
from apps.deployments.models import Deployment
from apps.tenants.models import Membership
from apps.tenants.principals import Principal, as_principal
from apps.tenants.roles import Role

# Refusals, as (code, message) pairs that tests import.
CLOSED = ("request_closed", "This change request is closed; nothing can be decided on it any more.")
NOT_AN_APPROVER = ("not_an_approver", "You are not an approver of the current stage of this change request.")
CANNOT_DEPLOY = (
    "approver_cannot_deploy",
    "Approvers must be allowed to make the change themselves, and you may not deploy to this environment.",
)
SELF_APPROVAL = ("self_approval", "You asked for this change, so you cannot approve it.")
ALREADY_DECIDED = ("already_decided", "You have already decided on this change request.")


def stage_admits(stage: dict, user_id: int, role: str | None) -> bool:
    return (role is not None and role in stage["roles"]) or user_id in stage["members"]


def decided_by_operators(change_request) -> bool:
    """Quota increases wait for the platform's operators, who are not members of the tenant."""
    return bool((change_request.stage() or {}).get("operators"))


def may_deploy(user, role: str | None, environment) -> bool:
    """The person's own permission, whatever key they use: a key only narrows what they may do. Only
    the right to deploy without approval counts (a developer may merely *ask* in governed production)."""
    if environment is None or role is None:
        return role is not None
    principal = Principal(user, _roles={environment.tenant_id: role})
    return policy_for(Deployment).can_deploy_unapproved(principal, environment)


def refusal(principal, change_request) -> tuple[str, str] | None:
    """Why `principal` may not decide on the request's current stage now, or None when they may."""
    principal = as_principal(principal)
    if not change_request.is_open:
        return CLOSED
    user, role = principal.user, principal.role_in(change_request.tenant_id)
    if decided_by_operators(change_request):
        if not user.is_staff or principal.api_key is not None:
            return NOT_AN_APPROVER
    elif not stage_admits(change_request.stage(), user.pk, role):
        return NOT_AN_APPROVER
    elif not may_deploy(user, role, change_request.environment):
        return CANNOT_DEPLOY
    if change_request.requested_by_id == user.pk and not change_request.allow_self_approval:
        return SELF_APPROVAL
    if change_request.decisions.filter(approver=user, voided_at__isnull=True).exists():
        return ALREADY_DECIDED
    return None


def eligible_members(tenant, stage: dict, environment) -> list[Membership]:
    """The memberships that could approve this stage (before excluding the requester); none for a stage
    of operators, who decide from the operator console."""
    if stage.get("operators"):
        return []
    memberships = Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")
    return [
        m for m in memberships if stage_admits(stage, m.user_id, m.role) and may_deploy(m.user, m.role, environment)
    ]


def awaits(change_request, user, role: str | None, *, decided: bool) -> bool:
    """Whether the open request's current stage waits for this member (`role` in its tenant; `decided`:
    whether they have decided on it already): eligible for the stage, not the requester (unless allowed)
    and not having decided."""
    return (
        not decided
        and not decided_by_operators(change_request)
        and stage_admits(change_request.stage(), user.pk, role)
        and may_deploy(user, role, change_request.environment)
        and (change_request.allow_self_approval or user.pk != change_request.requested_by_id)
    )


def waiting_on(change_request) -> list[Membership]:
    """Who can move the request on now: every member the request `awaits`."""
    if not change_request.is_open:
        return []
    decided = set(change_request.decisions.filter(voided_at__isnull=True).values_list("approver_id", flat=True))
    memberships = Membership.objects.filter(tenant_id=change_request.tenant_id).select_related("user")
    return [
        m
        for m in memberships.order_by("user__email")
        if awaits(change_request, m.user, m.role, decided=m.user_id in decided)
    ]


def _stage_deciders(change_request) -> str:
    """Who the current stage names, in words: "an admin or owner", "ann@acme.test"."""
    stage = change_request.stage() or {}
    names = [Role(role).label.lower() for role in stage.get("roles", [])]
    if names:
        names = [f"an {' or '.join(names)}" if names[0][0] in "aeiou" else f"a {' or '.join(names)}"]
    members = Membership.objects.filter(tenant_id=change_request.tenant_id, user_id__in=stage.get("members", []))
    names += sorted(members.values_list("user__email", flat=True))
    return " or ".join(names) or "nobody yet"


def refusal_text(principal, change_request) -> str | None:
    """Why `principal` cannot decide on the request now, said before they try (the decision pages and
    the deployment page show it in place of the buttons); None when they can."""
    principal = as_principal(principal)
    role = principal.role_in(change_request.tenant_id)
    found = refusal(principal, change_request)
    if found is None:
        return None
    if found == NOT_AN_APPROVER and not decided_by_operators(change_request):
        stage = change_request.stage()
        yours = f"your role is {Role(role).label.lower()}" if role else "you are not a member"
        return f"Stage {stage['position']} ({stage['name']}) is decided by {_stage_deciders(change_request)}; {yours}."
    if found == NOT_AN_APPROVER:
        return "The platform's operators decide on this request, from the operator console."
    return found[1]
