"""The Builds section other pages include (the application page), and how a build's state and
duration look."""

from django import template
from django.utils.html import format_html

from apps.core.policies import policy_for

from ..models import Build, State
from ..selectors import builds_of

register = template.Library()

STATE_TONES: dict[str, str] = {
    State.QUEUED: "text-bg-secondary",
    State.RUNNING: "text-bg-primary",
    State.PUSHING: "text-bg-info",
    State.SUCCEEDED: "text-bg-success",
    State.FAILED: "text-bg-danger",
    State.CANCELLED: "text-bg-warning",
}


@register.inclusion_tag("builds/_history.html", takes_context=True)
def application_builds(context, application):
    """The application's newest builds: state, tag, duration, digest and who asked."""
    request = context["request"]
    return {
        "tenant": context["tenant"],
        "application": application,
        "builds": list(builds_of(request, application, limit=20)),
        "may_build": policy_for(Build).can_add(request, context["tenant"]),
    }


@register.simple_tag
def build_badge(state: str, label: str) -> str:
    """A build's state as a badge: its label in its tone, the state itself for the live script."""
    return format_html(
        '<span class="badge {}" data-state="{}">{}</span>', STATE_TONES.get(state, "text-bg-secondary"), state, label
    )


@register.filter
def seconds(duration) -> str:
    """A duration as people say it: "42 s", "3 min 5 s"."""
    if duration is None:
        return "—"
    total = int(duration.total_seconds())
    return f"{total // 60} min {total % 60} s" if total >= 60 else f"{total} s"


@register.filter
def short_digest(digest: str) -> str:
    return digest[:19] if digest else "—"
