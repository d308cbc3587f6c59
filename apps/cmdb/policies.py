"""Who may see and change what in the CMDB.

Tenant items, relationships, history and saved filters follow the tenant rule: every member reads
(`cmdb:read`), developers and above write (`cmdb:write`), a suspended tenant is read-only.

Platform items (clusters, nodes, objects in namespaces no tenant owns) belong to nobody. A tenant
sees a platform item only as the endpoint of one of its own relationships (its namespace is part of
that cluster, its workload runs on that node), never the platform's inventory as a whole and never
another tenant's edges to it. Nobody writes platform items through these policies: discovery keeps
them, and operators look at them through /operator/cmdb/.

CI types are the platform's vocabulary: every signed-in user reads them (a key needs `cmdb:read`);
only operators, signed in themselves, define them (`type_policy`).
"""

from django.db.models import Exists, OuterRef, Q

from apps.core.policies import Policy, register
from apps.tenants.policies import REFERENCE, VIEW, TenantPolicy
from apps.tenants.principals import as_principal
from apps.tenants.roles import READ, Role

from .models import ChangeRecord, CIType, ConfigurationItem, ImportJob, Relationship, SavedFilter


def _visible_platform(tenant_ids):
    """Platform items that are an endpoint of a relationship of one of these tenants."""
    edges = Relationship.objects.filter(tenant_id__in=tenant_ids)
    return Q(tenant__isnull=True) & (Exists(edges.filter(source_id=OuterRef("pk")))
                                     | Exists(edges.filter(target_id=OuterRef("pk"))))


@register(ConfigurationItem)
class ItemPolicy(TenantPolicy):
    """Members see their tenant's items and the platform items their own relationships reach;
    developers and above declare, change and delete the tenant's items. "reference" (naming an item
    as a relationship's endpoint) is open to the members who could see it, whatever the key's scopes."""

    resource = "cmdb"

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if action in (VIEW, REFERENCE):
            if action == VIEW and (not principal.is_authenticated or not principal.has_scope(self.resource, READ)):
                return queryset.none()
            ids = principal.tenant_ids(Role.VIEWER)
            return queryset.filter(Q(tenant_id__in=ids) | _visible_platform(ids))
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
    """Members see their tenant's relationships; developers and above declare and remove them.
    Relationships between two platform items are the platform's: no tenant sees them here."""

    resource = "cmdb"


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
