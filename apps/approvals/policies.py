"""Who may set approval policies and freeze windows, see change requests, and decide on them."""

from apps.core.policies import register
from apps.tenants.policies import VIEW, TenantPolicy
from apps.tenants.roles import Role

from .models import ApprovalPolicy, ChangeRequest, FreezeWindow


class _AdminsWrite(TenantPolicy):
    resource = "approvals"

    def minimum_role(self, action: str) -> str:
        return Role.VIEWER if action == VIEW else Role.ADMIN


@register(ApprovalPolicy)
class ApprovalPolicyPolicy(_AdminsWrite):
    """Every member sees how changes are approved; owners and admins set the policies, within the
    limits operators set (services check those)."""


@register(FreezeWindow)
class FreezeWindowPolicy(_AdminsWrite):
    """Every member sees the freeze windows; owners and admins add, change and remove them."""


@register(ChangeRequest)
class ChangeRequestPolicy(TenantPolicy):
    """Every member sees the tenant's change requests. Nobody adds or edits one directly: they open
    when a governed change is asked for. A member decides on the current stage when the stage names
    their role or them, they may deploy to the environment themselves, they did not ask for the
    change (unless the policy allows it) and they have not decided on the request already
    (apps/approvals/eligibility.py). The requester, and admins and owners, may withdraw a request."""

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
        return obj.requested_by_id == principal.user.pk or at_least(principal.role_in(obj.tenant_id), Role.ADMIN)
