"""Template context for the header's tenant switcher and its pending invitations."""

from .selectors import invitations_pending_for, memberships_of


def tenants(request):
    """The signed-in user's memberships as `user_tenants` and invitations waiting for them as
    `user_invitations`; each evaluated only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_tenants": memberships_of(user), "user_invitations": invitations_pending_for(user)}
