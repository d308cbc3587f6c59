"""Who may do what with routes, usage plans and consumer keys.

Every member reads the tenant's routes; developers and up add, change and remove them, as they deploy.
Usage plans and consumer keys are what the tenant sells to the consumers of its APIs: every member sees
them (never a key itself after its creation), owners and admins manage them (scope `consumers`).
"""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import ConsumerKey, Route, UsagePlan


@register(Route)
class RoutePolicy(TenantPolicy):
    """Members read routes; developers and up add, change and delete them (a governed environment's
    changes wait for approval, decided by the environment's approval policy)."""

    resource = "routes"


@register(UsagePlan)
class UsagePlanPolicy(TenantPolicy):
    """Members read the tenant's usage plans; owners and admins add, change and delete them."""

    resource = "consumers"


@register(ConsumerKey)
class ConsumerKeyPolicy(TenantPolicy):
    """Members see the tenant's consumer keys (name, prefix, plan, state); owners and admins create and
    revoke them. Revoking is the only change a key takes, and it goes on in a suspended tenant."""

    resource = "consumers"
    while_suspended = frozenset({"delete"})
