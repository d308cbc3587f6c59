"""Who may deploy, roll back and cancel."""

from apps.core.policies import register
from apps.tenants.models import Environment
from apps.tenants.policies import TenantPolicy
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role, at_least

from .models import Deployment, DeploySettings


@register(Deployment)
class DeploymentPolicy(TenantPolicy):
    """Every member sees the tenant's deployments. Developers deploy, roll back and cancel in
    non-production environments; production needs an admin or an owner."""

    resource = "deployments"

    def can_add(self, principal, environment) -> bool:
        """Given a tenant (may this member deploy anywhere?) or an environment (may they deploy here?)."""
        if not isinstance(environment, Environment):
            return self.allows(principal, "add", environment)
        if not self.allows(principal, "add", environment.tenant):
            return False
        return not environment.is_production or at_least(
            as_principal(principal).role_in(environment.tenant_id), Role.ADMIN)

    def can_change(self, principal, obj) -> bool:
        return self.can_add(principal, obj.environment)

    def can_delete(self, principal, obj) -> bool:
        return False


@register(DeploySettings)
class DeploySettingsPolicy(TenantPolicy):
    """Every member sees how failed rollouts are handled in each environment; like the environments
    themselves, only admins and owners change it."""

    resource = "environments"

    def can_add(self, principal, tenant) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False
