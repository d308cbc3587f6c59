"""Base of every tenant-owned API viewset: the chokepoint plus API-key scopes."""

from collections.abc import Sequence
from typing import Any

from rest_framework import permissions

from apps.core.api import RestrictedViewSetMixin
from apps.core.errors import missing_scope
from apps.core.policies import policy_for
from apps.tenants.principals import Principal, as_principal
from apps.tenants.roles import READ, WRITE


class KeyHasScope(permissions.BasePermission):
    """A call made with an API key needs `<resource>:read` to read and `<resource>:write` to write; an
    action that files something elsewhere names its own scope in the view's `action_scopes`."""

    def has_permission(self, request, view):
        resource = policy_for(view.model).resource
        verb = READ if request.method in permissions.SAFE_METHODS else WRITE
        resource, verb = getattr(view, "action_scopes", {}).get(getattr(view, "action", None), (resource, verb))
        if as_principal(request).has_scope(resource, verb):
            return True
        self.message = missing_scope(resource, verb)
        return False


class TenantViewSetMixin(RestrictedViewSetMixin):
    permission_classes: Sequence[Any] = [permissions.IsAuthenticated, KeyHasScope]
    request: Any  # the DRF request of the viewset this mixes into

    @property
    def principal(self) -> Principal:
        """Who is asking, as the services' typed `actor`: the request is converted here, at the boundary."""
        return as_principal(self.request)
