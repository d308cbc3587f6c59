"""Template context for the header's tenant switcher."""

from .selectors import memberships_of


def tenants(request):
    """The signed-in user's memberships as `user_tenants`; evaluated only when a page shows the switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_tenants": memberships_of(user)}
