"""Who may set approval policies and freeze windows, see change requests, and decide on them."""

from django.utils import timezone

from apps.core.policies import register
from apps.tenants.policies import VIEW, TenantPolicy
from apps.tenants.roles import Role

from .choices import ChangeKind
from .models import ApprovalPolicy, ChangeRequest, FreezeWindow


class _AdminsWrite(TenantPolicy):
    resource = "approvals"

    def minimum_role(self, action: str) -> str:
        return Role.VIEWER if action == VIEW else Role.ADMIN


def _is_owner(principal, tenant_id) -> bool:
    from apps.tenants.principals import as_principal

    return as_principal(principal).role_in(tenant_id) == Role.OWNER


@register(ApprovalPolicy)
class ApprovalPolicyPolicy(_AdminsWrite):
    """Every member sees how changes are approved; owners and admins set the policies, within the
    limits operators set (services check those). A policy that requires approval is changed or removed
    by owners only: an admin who could turn approval off could make a production change alone and turn
    it on again, past the second person the policy asks for. Owners may push a change past approval
    anyway (break-glass)."""

    def can_change(self, principal, obj) -> bool:
        return super().can_change(principal, obj) and (not obj.requires_approval or _is_owner(principal, obj.tenant_id))

    def can_delete(self, principal, obj) -> bool:
        return super().can_delete(principal, obj) and (not obj.requires_approval or _is_owner(principal, obj.tenant_id))


@register(FreezeWindow)
class FreezeWindowPolicy(_AdminsWrite):
    """Every member sees the freeze windows; owners and admins add them. Owners remove any; an admin
    removes one they added while it is not in effect: a freeze an admin could lift would hold nobody
    but developers, when only owners may break glass through it."""

    def can_delete(self, principal, obj) -> bool:
        from apps.tenants.principals import as_principal

        from .selectors import is_frozen_at

        if not super().can_delete(principal, obj):
            return False
        if _is_owner(principal, obj.tenant_id):
            return True
        return obj.created_by_id == as_principal(principal).user.pk and not is_frozen_at(obj, timezone.now())


@register(ChangeRequest)
class ChangeRequestPolicy(TenantPolicy):
    """Every member sees the tenant's change requests. Nobody adds or edits one directly: they open
    when a governed change is asked for. A member decides on the current stage when the stage names
    their role or them, they may deploy to the environment themselves, they did not ask for the
    change (unless the policy allows it) and they have not decided on the request already
    (apps/approvals/eligibility.py). The requester, and admins and owners, may withdraw a request, but
    not the post-hoc review of a change made past approval."""

    resource = "approvals"

    def minimum_role(self, action: str) -> str:
        return Role.VIEWER if action == VIEW else Role.DEVELOPER

    def can_add(self, principal, tenant) -> bool:
        return False

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False

    def can_decide(self, principal, obj) -> bool:
        from .eligibility import refusal

        return self.allows(principal, "decide", obj.tenant) and refusal(principal, obj) is None

    def can_withdraw(self, principal, obj) -> bool:
        from apps.tenants.principals import as_principal
        from apps.tenants.roles import at_least

        principal = as_principal(principal)
        if not self.allows(principal, "withdraw", obj.tenant):
            return False
        if obj.kind == ChangeKind.REVIEW:  # the look afterwards at a change made past approval is not to be called off
            return False
        return obj.requested_by_id == principal.user.pk or at_least(principal.role_in(obj.tenant_id), Role.ADMIN)
