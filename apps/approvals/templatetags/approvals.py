"""Template tags of the approvals pages."""

from django import template

from ..choices import RequestState
from ..models import ChangeRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_change_requests(context) -> int:
    """How many of the page's tenant's change requests are open: one count query, for the navigation badge.
    (Who exactly a request waits for takes a query per request, so the queue page works that out.)"""
    request = context["request"]
    return (
        ChangeRequest.objects.restrict(request, "view")
        .filter(tenant=request.tenant, state=RequestState.PENDING)
        .count()
    )
