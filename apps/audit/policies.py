"""Who may read the audit trail."""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import AuditEvent


@register(AuditEvent)
class AuditEventPolicy(TenantPolicy):
    """Owners and admins read their tenant's audit trail; nobody changes it. Platform events (no
    tenant) are visible to operators only, through the operator console."""

    resource = "audit"

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False
