"""Who may see and change what in the CMDB.

Tenant items, relationships, history and saved filters follow the tenant rule: every member reads
(`cmdb:read`), developers and above write (`cmdb:write`), a suspended tenant is read-only.

Platform items (clusters, nodes, objects in namespaces no tenant owns) belong to nobody, and only
operators see them: a cluster's API URL, its nodes and kube-system are the platform's inventory, not
a tenant's, even where discovery relates a tenant's workload to them ("runs on node-1"). So tenant
members see neither the platform items nor the relationships that reach one, and impact analysis
and the map never walk through them (selectors.py). Nobody writes platform items through these
policies: discovery keeps them, and operators look at them through /operator/cmdb/.

CI types are the platform's vocabulary: every signed-in user reads them (a key needs `cmdb:read`);
only operators, signed in themselves, define them (`type_policy`).
"""

from django.db.models import Q

from apps.core.policies import Policy, register
from apps.tenants.policies import REFERENCE, VIEW, TenantPolicy
from apps.tenants.principals import as_principal
from apps.tenants.roles import READ, Role

from .models import ChangeRecord, CIType, ConfigurationItem, ImportJob, Relationship, SavedFilter


def sees_platform(principal) -> bool:
    """Operators, signed in themselves: an API key belongs to a tenant and never sees the platform."""
    principal = as_principal(principal)
    return principal.is_authenticated and principal.api_key is None and principal.user.is_staff


@register(ConfigurationItem)
class ItemPolicy(TenantPolicy):
    """Members see their tenant's items; operators also see the platform's. Developers and above
    declare, change and delete the tenant's items. "reference" (naming an item as a relationship's
    endpoint) is open to the members who could see it, whatever the key's scopes."""

    resource = "cmdb"

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if action in (VIEW, REFERENCE):
            if action == VIEW and (not principal.is_authenticated or not principal.has_scope(self.resource, READ)):
                return queryset.none()
            visible = Q(tenant_id__in=principal.tenant_ids(Role.VIEWER))
            return queryset.filter(visible | Q(tenant__isnull=True) if sees_platform(principal) else visible)
        return super().scope(queryset, principal, action)

    def can_view(self, principal, obj) -> bool:
        if obj.tenant_id is None:
            return self.scope(ConfigurationItem.objects.filter(pk=obj.pk), principal, VIEW).exists()
        return super().can_view(principal, obj)

    def can_change(self, principal, obj) -> bool:
        return obj.tenant_id is not None and super().can_change(principal, obj)

    def can_delete(self, principal, obj) -> bool:
        return obj.tenant_id is not None and super().can_delete(principal, obj)


@register(Relationship)
class RelationshipPolicy(TenantPolicy):
    """Members see their tenant's relationships between their own items; developers and above
    declare and remove them. A relationship that reaches a platform item names it, so only operators
    see those; relationships between two platform items are the platform's and nobody sees them here."""

    resource = "cmdb"

    def scope(self, queryset, principal, action):
        queryset = super().scope(queryset, principal, action)
        if sees_platform(principal):
            return queryset
        return queryset.filter(source__tenant__isnull=False, target__tenant__isnull=False)

    def can_view(self, principal, obj) -> bool:
        platform_end = obj.source.tenant_id is None or obj.target.tenant_id is None
        return super().can_view(principal, obj) and (not platform_end or sees_platform(principal))


@register(ChangeRecord)
class ChangeRecordPolicy(TenantPolicy):
    """Members read their tenant's CMDB history. Nobody writes it: services record it."""

    resource = "cmdb"

    def can_add(self, principal, tenant) -> bool:
        return False

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False


@register(SavedFilter)
class SavedFilterPolicy(TenantPolicy):
    """Members use the tenant's saved searches; developers and above save and delete them."""

    resource = "cmdb"


class TypePolicy(Policy):
    """Every signed-in user reads CI types (a key needs `cmdb:read`); only operators, signed in
    themselves and not through a key, define and change them."""

    model = CIType

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if action != VIEW or not principal.is_authenticated or not principal.has_scope("cmdb", READ):
            return queryset.none()
        return queryset

    def can_add(self, principal, obj=None) -> bool:
        principal = as_principal(principal)
        return principal.is_authenticated and principal.api_key is None and principal.user.is_staff

    def can_change(self, principal, obj=None) -> bool:
        return self.can_add(principal)


type_policy = TypePolicy()


@register(ImportJob)
class ImportJobPolicy(TenantPolicy):
    """Members follow their tenant's background imports; developers and above start them (the same
    rule as importing: see ItemPolicy)."""

    resource = "cmdb"
