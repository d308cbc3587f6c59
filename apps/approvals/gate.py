"""The approvals app's gate (see apps/core/governance.py): freeze windows, approval terms, break-glass."""

from __future__ import annotations

from apps.core.errors import ApplicationError
from apps.core.governance import Change, Verdict
from apps.tenants.roles import Role

from .choices import ChangeKind
from .selectors import active_freeze, approval_terms, freeze_ends

# Refusals, as constants that tests import.
FROZEN = "change_freeze"
JUSTIFICATION_REQUIRED = "justification_required"
BREAK_GLASS_OWNERS = "break_glass_owners_only"


def _require_justification(change: Change, message: str) -> None:
    if not change.justification.strip():
        raise ApplicationError(message, code=JUSTIFICATION_REQUIRED, field="justification")


def frozen(environment, freeze, advice: str) -> ApplicationError:
    until = freeze_ends(freeze).strftime("%Y-%m-%d %H:%M UTC")
    return ApplicationError(
        f"Changes to {environment.name} are frozen until {until} ({freeze.name}). {advice}", code=FROZEN, status=409
    )


class ApprovalGate:
    """Decides whether a change waits for approval, is refused by a freeze, or goes ahead."""

    def governed(self, environment) -> bool:
        return approval_terms(environment) is not None

    def assess(self, change: Change) -> Verdict:
        if change.kind == ChangeKind.QUOTA:  # more quota is the platform's decision, always
            _require_justification(change, "A quota increase needs a reason.")
            return Verdict(needs_approval=True)
        environment = change.environment
        if environment is None:
            return Verdict()
        freeze = active_freeze(environment)
        terms = approval_terms(environment)
        if change.restorative:  # never held: people must be able to stop damage, even in a freeze
            return Verdict(restorative=bool(freeze or terms))
        if change.carries_on:  # its approval covered it; only a freeze (or break-glass past it) matters
            terms = None
        if change.break_glass_reason.strip():
            if change.actor is None or change.actor.role_in(change.tenant.pk) != Role.OWNER:
                raise ApplicationError(
                    "Only an owner of the tenant can push a change past approval or a freeze.",
                    code=BREAK_GLASS_OWNERS,
                    status=403,
                )
            return Verdict(break_glass=bool(freeze or terms))
        if freeze is not None:
            raise frozen(environment, freeze, "An owner can push an emergency change with break-glass and a reason.")
        if change.kind == ChangeKind.ADDON and change.params.get("needs_approval"):  # the plan asks for it
            _require_justification(change, "This add-on plan needs approval: say why you need it.")
            return Verdict(needs_approval=True)
        if terms is None:
            return Verdict()
        _require_justification(change, f"Changes to {environment.name} need approval: say why this change is needed.")
        return Verdict(needs_approval=True)

    def open(self, change: Change, verdict: Verdict):
        from .services.requests import change_request_open

        return change_request_open(change=change, verdict=verdict)

    def withdraw(self, subject, reason: str) -> None:
        from .services.requests import change_requests_withdraw_for

        change_requests_withdraw_for(subject=subject, reason=reason)
