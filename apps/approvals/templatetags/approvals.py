"""Template tags of the approvals pages."""

from django import template

from apps.tenants.roles import Role, at_least

from .. import selectors
from ..eligibility import refusal_text

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_change_requests(context) -> int:
    """How many of the page's tenant's open change requests wait for this user to decide: the same
    list as the queue's "Waiting for you", so the navigation badge never promises work that is not
    there, counted in one query. Viewers never decide, so their count costs no query."""
    request = context["request"]
    if not at_least(getattr(request, "role", None), Role.DEVELOPER):
        return 0
    return selectors.waiting_count(request.user, request.role, request.tenant)


@register.inclusion_tag("approvals/_decide.html", takes_context=True)
def decide_buttons(context, change_request_id, back: str = ""):
    """Approve and Reject in one click for who may decide on the request now (a first decision asks to
    re-authenticate, then goes through), or why the viewer cannot; `back` is where to return after."""
    request = context["request"]
    change_request = selectors.change_request_for(request, tenant=request.tenant, pk=change_request_id)
    if change_request is None or not change_request.is_open:
        return {"change_request": None}
    return {
        "tenant": request.tenant,
        "change_request": change_request,
        "csrf_token": context.get("csrf_token"),
        "refused": refusal_text(request, change_request),
        "back": back,
    }
