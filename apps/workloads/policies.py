"""Who sees workloads: every member of the tenant, with the keys that read deployments."""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import Incident, Workload


@register(Workload)
class WorkloadPolicy(TenantPolicy):
    """Members read their tenant's workloads; keys need `deployments:read`. Workloads are written only
    by the portal itself, from what the cluster says."""

    resource = "deployments"


@register(Incident)
class IncidentPolicy(TenantPolicy):
    """Members read their tenant's incidents; those who may deploy acknowledge and resolve them."""

    resource = "deployments"

    def can_change(self, principal, obj) -> bool:
        return self.allows(principal, "change", obj.tenant)
