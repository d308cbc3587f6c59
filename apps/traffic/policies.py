"""Who may do what with routes.

Every member reads the tenant's routes; developers and up add, change and remove them, as they deploy.
"""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import Route


@register(Route)
class RoutePolicy(TenantPolicy):
    """Members read routes; developers and up add, change and delete them (a governed environment's
    changes wait for approval, decided by the environment's approval policy)."""

    resource = "routes"
