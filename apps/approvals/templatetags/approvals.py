"""Template tags of the approvals pages."""

from django import template

from apps.tenants.roles import Role, at_least

from ..selectors import waiting_for

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_change_requests(context) -> int:
    """How many of the page's tenant's open change requests wait for this user to decide: the same
    list as the queue's "Waiting for you", so the navigation badge never promises work that is not
    there. Viewers never decide, so their count costs no query."""
    request = context["request"]
    if not at_least(getattr(request, "role", None), Role.DEVELOPER):
        return 0
    return len(waiting_for(request.user, [request.tenant.pk]))
