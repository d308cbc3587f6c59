"""Who sees workloads: every member of the tenant, with the keys that read deployments."""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import Workload


@register(Workload)
class WorkloadPolicy(TenantPolicy):
    """Members read their tenant's workloads; keys need `deployments:read`. Workloads are written only
    by the portal itself, from what the cluster says."""

    resource = "deployments"
