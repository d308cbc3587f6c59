"""Template context for the header's tenant switcher and its pending invitations."""

from .principals import as_principal
from .selectors import invitations_pending_for, memberships_of


def tenants(request):
    """The signed-in user's memberships as `user_tenants` and invitations waiting for them as
    `user_invitations`; each evaluated only when a page shows it. The memberships are the request's
    principal's, which its roles were read from: a tenant page reads them once for both."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    principal = as_principal(request)
    # Through a key the principal sees the key's tenant only; the switcher still lists them all.
    memberships = memberships_of(user) if principal.api_key is not None else lambda: principal.memberships
    return {"user_tenants": memberships, "user_invitations": invitations_pending_for(user)}
