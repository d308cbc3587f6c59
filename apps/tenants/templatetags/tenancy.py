"""Policy questions and quota bars for tenant pages, so templates show only the buttons that would work."""

from django import template
from django.apps import apps
from django.urls import reverse

from apps.core.policies import policy_for

from ..pages import refusal_text

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, action: str, obj) -> bool:
    """Whether the page's principal may `action` this row, by the row's policy."""
    return policy_for(type(obj)).can(context["request"], action, obj)


# The tenant's sections in its navigation: key (the page's `section`), label, icon, URL name, and the
# model whose "view" the viewer needs to see the link (None: every member).
SECTIONS = (
    ("overview", "Overview", "speedometer2", "tenants:overview", None),
    ("apps", "Applications", "boxes", "catalog:list", None),
    ("members", "Members", "people", "tenants:members", None),
    ("environments", "Environments", "layers", "tenants:environments", None),
    ("quotas", "Quotas", "speedometer", "tenants:quotas", None),
    ("workloads", "Workloads", "activity", "workloads:list", None),
    ("addons", "Add-ons", "plugin", "marketplace:list", None),
    ("deployments", "Deployments", "rocket-takeoff", "deployments:list", None),
    ("approvals", "Approvals", "clipboard-check", "approvals:queue", None),
    ("cmdb", "CMDB", "diagram-3", "cmdb:list", None),
    ("apikeys", "API keys", "key", "apikeys:list", None),
    ("consumers", "Consumer keys", "person-badge", "consumers:list", None),
    ("webhooks", "Webhooks", "broadcast", "webhooks:list", "webhooks.WebhookEndpoint"),
    ("audit", "Audit trail", "journal-text", "audit:trail", "audit.AuditEvent"),
)


@register.simple_tag(takes_context=True)
def tenant_sections(context) -> list[dict]:
    """The sections of the page's tenant this viewer sees, with their addresses."""
    slug = context["tenant"].slug
    return [
        {"key": key, "label": label, "icon": icon, "url": reverse(name, kwargs={"tenant_slug": slug})}
        for key, label, icon, name, needs in SECTIONS
        if needs is None or tenant_can(context, "view", needs)
    ]


@register.simple_tag
def section_label(key: str) -> str:
    """The navigation's name of a section, for the folded menu's button."""
    return next((label for section, label, *_ in SECTIONS if section == key), "Sections")


@register.simple_tag(takes_context=True)
def tenant_can(context, action: str, model_label: str) -> bool:
    """Whether the principal may `action` rows of `model_label` in the page's tenant ("add" asks can_add)."""
    request = context["request"]
    policy = policy_for(apps.get_model(model_label))
    if action == "add":
        return policy.can_add(request, request.tenant)
    return policy.allows(request, action, request.tenant)


@register.simple_tag(takes_context=True)
def refusal(context, doing: str, needs: str) -> str:
    """Why the page's member cannot do `doing`: the same words as the 403 page (tenants/pages.py)."""
    return refusal_text(context["tenant"], context.get("role"), needs=needs, doing=doing)


@register.filter
def percent_class(percent) -> str:
    """The width class (pct-0 … pct-100, steps of 5) for a progress bar; the CSP forbids style=""."""
    step = max(0, min(100, int(5 * round((percent or 0) / 5))))
    return f"pct-{step}"


@register.filter
def usage_tone(percent) -> str:
    return "bg-danger" if percent >= 90 else "bg-warning" if percent >= 75 else "bg-success"
