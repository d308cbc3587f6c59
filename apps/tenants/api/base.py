"""Base of every tenant-owned API viewset: the chokepoint plus API-key scopes."""

from collections.abc import Sequence
from typing import Any

from rest_framework import permissions
from rest_framework.exceptions import NotFound, ValidationError

from apps.core.api import RestrictedViewSetMixin
from apps.core.errors import missing_scope
from apps.core.numbers import digits
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


class NamedLookupMixin:
    """`/{id}/` also takes the row's name: `/api/v1/applications/shop/`. The name is looked up among the
    rows the caller may see (only `?tenant=`'s when given), so another tenant's row stays a 404 like a
    missing one; a name two of the caller's tenants share is a 400 asking for `tenant`. Text of digits
    only is an id. Mixed into a TenantViewSetMixin viewset whose model has a `name`."""

    lookup_by_name = ""  # the noun the schema uses; set by each viewset
    kwargs: Any
    request: Any

    def get_object(self):
        value = str(self.kwargs.get(getattr(self, "lookup_url_kwarg", None) or "pk", ""))
        if digits(value):
            return super().get_object()  # type: ignore[misc]
        if "\x00" in value:
            raise NotFound
        found = list(self.filter_queryset(self.get_queryset()).filter(name=value)[:2])  # type: ignore[attr-defined]
        if len(found) > 1:
            raise ValidationError(
                {"tenant": [f"More than one of your tenants has {self.lookup_by_name} “{value}”: add ?tenant=<slug>."]}
            )
        if not found:
            raise NotFound
        self.check_object_permissions(self.request, found[0])  # type: ignore[attr-defined]
        return found[0]


class TenantViewSetMixin(RestrictedViewSetMixin):
    permission_classes: Sequence[Any] = [permissions.IsAuthenticated, KeyHasScope]
    request: Any  # the DRF request of the viewset this mixes into

    @property
    def principal(self) -> Principal:
        """Who is asking, as the services' typed `actor`: the request is converted here, at the boundary."""
        return as_principal(self.request)
