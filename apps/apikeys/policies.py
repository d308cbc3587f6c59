"""Who may see and manage API keys."""

from apps.core.policies import register
from apps.tenants.policies import VIEW, TenantPolicy
from apps.tenants.principals import Principal, as_principal
from apps.tenants.roles import Role, at_least
from apps.tenants.stepup import require_step_up

from .models import APIKey, UsageDaily


@register(APIKey)
class APIKeyPolicy(TenantPolicy):
    """Every member manages their own keys. Owners and admins also see and revoke everyone's keys
    in their tenant. A key never manages keys beyond the tenant it belongs to. Revoking goes on in a
    suspended tenant."""

    resource = "apikeys"
    while_suspended = frozenset({"delete"})

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        queryset = super().scope(queryset, principal, action)
        if not principal.is_authenticated:
            return queryset
        managers = principal.tenant_ids(Role.ADMIN)
        return queryset.filter(tenant_id__in=managers) | queryset.filter(user_id=principal.user.pk)

    def can_view(self, principal, obj) -> bool:
        return self._own_or_admin(principal, obj, VIEW)

    def can_delete(self, principal, obj) -> bool:
        return self._own_or_admin(principal, obj, "delete")

    def _own_or_admin(self, principal, obj, action) -> bool:
        principal = as_principal(principal)
        if not self.allows(principal, action, obj.tenant):
            return False
        return obj.user_id == principal.user.pk or at_least(principal.role_in(obj.tenant_id), Role.ADMIN)


@register(UsageDaily)
class UsageDailyPolicy(TenantPolicy):
    """Usage follows the keys: every member sees the usage of their own keys; owners and admins see the
    usage of every key in their tenant. Through a key, reading usage needs `apikeys:read`. Nobody writes
    usage: it is counted by the platform."""

    resource = "apikeys"

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if action != VIEW:
            return queryset.none()
        queryset = super().scope(queryset, principal, action)
        if not principal.is_authenticated:
            return queryset
        managers = principal.tenant_ids(Role.ADMIN)
        return queryset.filter(tenant_id__in=managers) | queryset.filter(api_key__user_id=principal.user.pk)

    def can_view(self, principal, obj) -> bool:
        principal = as_principal(principal)
        if not self.allows(principal, VIEW, obj.tenant):
            return False
        return obj.api_key.user_id == principal.user.pk or at_least(principal.role_in(obj.tenant_id), Role.ADMIN)

    def can_add(self, principal, tenant) -> bool:
        return False

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False


# A key that can approve changes is as strong as an approval: making one by session (creating or
# rotating it) needs the same recent re-authentication as approving does (apps/tenants/stepup.py).
STEP_UP_SCOPES = frozenset({"approvals:write"})


def step_up_for_key(actor: Principal, scopes, *, doing: str) -> None:
    if STEP_UP_SCOPES & set(scopes or ()):
        require_step_up(actor, doing=f"{doing} a key that can approve changes")
