"""Template tags of the add-on pages, and the "Add-ons" card of the application page (the catalog sits
below the marketplace, so its page loads this card by tag rather than by importing the app)."""

from django import template
from django.template.defaultfilters import filesizeformat

from apps.core.policies import policy_for

from .. import selectors
from ..models import InstanceState, ServiceBinding

register = template.Library()

TONES = {
    InstanceState.PENDING_APPROVAL: "text-bg-warning",
    InstanceState.PROVISIONING: "text-bg-info",
    InstanceState.READY: "text-bg-success",
    InstanceState.FAILED: "text-bg-danger",
    InstanceState.DEPROVISIONING: "text-bg-secondary",
}


@register.inclusion_tag("marketplace/_state.html")
def addon_state(instance):
    return {"state": instance.state, "label": instance.get_state_display(), "tone": TONES.get(instance.state)}


@register.simple_tag
def addon_usage(instance) -> str:
    """What the last sample said, in words: "120 keys of 10000", "7.9 MB", or that none was taken yet."""
    usage, limits = instance.usage or {}, instance.plan.limits or {}
    if not usage.get("sampled_at"):
        return "Not sampled yet"
    if "keys" in usage:
        return f"{usage['keys']} keys" + (f" of {limits['keys']}" if "keys" in limits else "")
    if "bytes" in usage:
        storage = limits.get("storage")
        return filesizeformat(usage["bytes"]) + (f" of {storage} MiB" if storage else "")
    return "Not reported by the provider"


@register.inclusion_tag("marketplace/_application_addons.html", takes_context=True)
def application_addons(context, application):
    """The application's bindings in every environment, and "Add a service": bind a ready add-on."""
    request = context["request"]
    bindings = selectors.binding_list_for(request, request.tenant, application=application)
    bound = {binding.instance_id for binding in bindings}
    ready = selectors.instance_list_for(request, request.tenant).filter(state=InstanceState.READY)
    return {
        "tenant": request.tenant,
        "application": application,
        "bindings": bindings,
        "bindable": [instance for instance in ready if instance.pk not in bound],
        "may_bind": policy_for(ServiceBinding).can_add(request, request.tenant),
        "csrf_token": context.get("csrf_token"),
    }
