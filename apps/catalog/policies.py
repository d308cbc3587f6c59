"""Who may do what with applications, releases and service templates.

Applications and releases are tenant-owned and go through the registered policies below. Service
templates belong to the platform: every signed-in user reads them and only operators write them, so
their rule lives in `TemplatePolicy`, outside the tenant registry.
"""

from apps.core.policies import Policy, register
from apps.tenants.policies import REFERENCE, TenantPolicy
from apps.tenants.principals import as_principal
from apps.tenants.roles import READ, Role

from .models import Application, Release, ServiceTemplate


@register(Application)
class ApplicationPolicy(TenantPolicy):
    """Every member sees the tenant's applications; developers and above create and edit them.

    "reference" is naming an application as the target of another write (a release's application):
    any member may, whatever the key's scopes, so a key with `releases:write` alone can cut releases;
    the write's own policy then decides.
    """

    resource = "apps"

    def scope(self, queryset, principal, action):
        if action == REFERENCE:
            return queryset.filter(tenant_id__in=as_principal(principal).tenant_ids(Role.VIEWER))
        return super().scope(queryset, principal, action)


@register(Release)
class ReleasePolicy(TenantPolicy):
    """Every member sees releases; developers and above cut new ones. Nobody changes or deletes a
    release: a change is the next release, and a rollback deploys an earlier one."""

    resource = "releases"

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False


class TemplatePolicy(Policy):
    """Every signed-in user reads the active templates (an API key needs `apps:read`); operators
    also see retired versions. Only operators, signed in themselves and not through a key, add
    templates."""

    model = ServiceTemplate

    def scope(self, queryset, principal, action):
        principal = as_principal(principal)
        if action != "view" or not principal.is_authenticated or not principal.has_scope("apps", READ):
            return queryset.none()
        return queryset if self._is_operator(principal) else queryset.filter(is_active=True)

    def can_add(self, principal, obj=None) -> bool:
        return self._is_operator(as_principal(principal))

    @staticmethod
    def _is_operator(principal) -> bool:
        return principal.is_authenticated and principal.api_key is None and principal.user.is_staff


template_policy = TemplatePolicy()
