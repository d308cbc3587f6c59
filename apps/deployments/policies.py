"""Who may deploy, roll back and cancel."""

from apps.core.governance import gate
from apps.core.policies import register
from apps.tenants.models import Environment
from apps.tenants.policies import TenantPolicy
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role, at_least

from .models import Deployment, DeploySettings


@register(Deployment)
class DeploymentPolicy(TenantPolicy):
    """Every member sees the tenant's deployments. Developers deploy, roll back and cancel in
    non-production environments; production needs an admin or an owner. Where production is governed
    by an approval policy, developers may also *ask* for a deploy there: it waits for approval by
    people who could deploy without it (apps/approvals/eligibility.py)."""

    resource = "deployments"

    def can_add(self, principal, environment) -> bool:
        """Given a tenant (may this member deploy anywhere?) or an environment (may they deploy here,
        possibly after approval?)."""
        if not isinstance(environment, Environment):
            return self.allows(principal, "add", environment)
        if self.can_deploy_unapproved(principal, environment):
            return True
        return self.allows(principal, "add", environment.tenant) and gate().governed(environment)

    def can_deploy_unapproved(self, principal, environment) -> bool:
        """The member's own right to change the environment: what approvers must hold."""
        if not self.allows(principal, "add", environment.tenant):
            return False
        return not environment.is_production or at_least(
            as_principal(principal).role_in(environment.tenant_id), Role.ADMIN
        )

    def can_change(self, principal, obj) -> bool:
        return self.can_deploy_unapproved(principal, obj.environment)

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
