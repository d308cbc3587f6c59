"""Who may do what with add-ons.

Every member sees the tenant's service instances and bindings (never the credentials: those are
written to the environment's Secret, and shown once to the owner or admin who binds). Developers and
above provision, bind, unbind and deprovision; keys need `addons:read` / `addons:write`. Offerings,
plans and the servers behind them are the platform's: operators publish them in the operator console.
"""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role, at_least

from .models import ServiceBinding, ServiceInstance


@register(ServiceInstance)
class ServiceInstancePolicy(TenantPolicy):
    """Members see the tenant's add-on instances; developers provision and deprovision them."""

    resource = "addons"


@register(ServiceBinding)
class ServiceBindingPolicy(TenantPolicy):
    """Members see which application is bound to which instance; developers bind and unbind. Only
    owners and admins are shown a binding's connection details, once, when they make it."""

    resource = "addons"

    def can_see_credentials(self, principal, tenant) -> bool:
        return at_least(as_principal(principal).role_in(tenant.pk), Role.ADMIN)
