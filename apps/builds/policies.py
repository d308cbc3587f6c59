"""Who may do what with builds."""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import Build


@register(Build)
class BuildPolicy(TenantPolicy):
    """Every member sees the tenant's builds and their logs; developers and above start and cancel
    them. Nobody edits or deletes a build: it is the record of what was pushed."""

    resource = "builds"

    def can_delete(self, principal, obj) -> bool:
        return False
