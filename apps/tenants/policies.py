"""Who may do what with tenants, members, invitations, environments and quotas.

Each rule is written in words in the docstring and in code below it; docs/roles.md is the same
matrix as a table. Operators reach other tenants only through the operator console and API, which
do not use these policies.
"""

from apps.core.policies import Policy, register

from .models import Environment, Invitation, Membership, Quota, Tenant
from .principals import as_principal
from .roles import READ, READ_NEEDS, WRITE, WRITE_NEEDS, Role, at_least

VIEW = "view"
REFERENCE = "reference"


class TenantPolicy(Policy):
    """Base for tenant-owned rows: a member may read; writing needs the resource's role.

    The resource name links the rule to API-key scopes ("environments:write"). A suspended
    tenant is read-only for everyone, but for the actions in `while_suspended`: those that only take
    access away (revoking a key), so a leaked key can be stopped before the tenant is reactivated.
    """

    resource: str
    tenant_field = "tenant_id"
    while_suspended: frozenset[str] = frozenset()

    def needs_active_tenant(self, action: str) -> bool:
        return action != VIEW and action not in self.while_suspended

    def minimum_role(self, action: str) -> str:
        if action == VIEW:
            return READ_NEEDS.get(self.resource, Role.VIEWER)
        return WRITE_NEEDS[self.resource]

    def verb(self, action: str) -> str:
        return READ if action == VIEW else WRITE

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if not principal.is_authenticated or not principal.has_scope(self.resource, self.verb(action)):
            return queryset.none()
        tenant_ids = principal.tenant_ids(self.minimum_role(action))
        queryset = queryset.filter(**{f"{self.tenant_field}__in": tenant_ids})
        if self.needs_active_tenant(action):
            queryset = queryset.filter(**{self.tenant_field.replace("_id", "__status"): Tenant.Status.ACTIVE})
        return queryset

    def allows(self, principal, action: str, tenant) -> bool:
        """The row-independent part of every rule: scope, role in the tenant, tenant active for writes."""
        principal = as_principal(principal)
        if not principal.is_authenticated or not principal.has_scope(self.resource, self.verb(action)):
            return False
        if self.needs_active_tenant(action) and not tenant.is_active:
            return False
        return at_least(principal.role_in(tenant.pk), self.minimum_role(action))

    def can_view(self, principal, obj) -> bool:
        return self.allows(principal, VIEW, obj.tenant)

    def can_add(self, principal, tenant) -> bool:
        """Adding is checked against the tenant, since the row does not exist yet."""
        return self.allows(principal, "add", tenant)

    def can_change(self, principal, obj) -> bool:
        return self.allows(principal, "change", obj.tenant)

    def can_delete(self, principal, obj) -> bool:
        return self.allows(principal, "delete", obj.tenant)


@register(Tenant)
class TenantsPolicy(TenantPolicy):
    """A user sees the tenants they are a member of. Only owners rename a tenant.

    "reference" is naming a tenant as the target of another write (an environment's tenant): any
    member may, whatever the key's scopes; the write's own policy then decides.
    """

    resource = "tenant"
    tenant_field = "id"

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if action == REFERENCE:
            return queryset.filter(id__in=principal.tenant_ids(Role.VIEWER))
        if not principal.is_authenticated or not principal.has_scope(self.resource, self.verb(action)):
            return queryset.none()
        queryset = queryset.filter(id__in=principal.tenant_ids(self.minimum_role(action)))
        return queryset if action == VIEW else queryset.filter(status=Tenant.Status.ACTIVE)

    def can_view(self, principal, obj) -> bool:
        return self.allows(principal, VIEW, obj)

    def can_change(self, principal, obj) -> bool:
        return self.allows(principal, "change", obj)


@register(Membership)
class MembershipPolicy(TenantPolicy):
    """Members see each other. Owners manage every membership; admins manage members other than
    owners and cannot make anyone an owner. Anyone may leave (the last owner excepted, see services)."""

    resource = "members"

    def can_change(self, principal, obj, new_role: str | None = None) -> bool:
        if not self.allows(principal, "change", obj.tenant):
            return False
        actor_role = as_principal(principal).role_in(obj.tenant_id)
        if actor_role == Role.OWNER:
            return True
        return obj.role != Role.OWNER and new_role != Role.OWNER

    def can_delete(self, principal, obj) -> bool:
        return self.can_change(principal, obj)

    def can_leave(self, principal, obj) -> bool:
        principal = as_principal(principal)
        return obj.user_id == principal.user.pk and principal.api_key is None


@register(Invitation)
class InvitationPolicy(TenantPolicy):
    """Owners and admins invite and revoke; admins cannot invite owners."""

    resource = "invitations"

    def minimum_role(self, action: str) -> str:
        return Role.ADMIN

    def can_invite(self, principal, tenant, role: str) -> bool:
        if not self.allows(principal, "add", tenant):
            return False
        return role != Role.OWNER or as_principal(principal).role_in(tenant.pk) == Role.OWNER


@register(Environment)
class EnvironmentPolicy(TenantPolicy):
    """Every member sees the environments; owners and admins add, change and remove them."""

    resource = "environments"


@register(Quota)
class QuotaPolicy(TenantPolicy):
    """Every member sees the tenant's quotas and usage; only operators set them (operator console)."""

    resource = "quotas"

    def can_add(self, principal, tenant) -> bool:
        return False

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False
