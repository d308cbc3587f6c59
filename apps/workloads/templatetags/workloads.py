"""The day-2 actions on what runs, where a person looks at it: per environment on the application page
(`{% running_now application %}`) and on a workload's page (`{% workload_actions workload %}`).

Each button posts to the deployment pages' own views (deployments/views.py), so an action from here
is the same service call, approval, audit and webhook as from the deployment page or the API; the
form carries `next` so the person comes back here, or to the new deployment a rollback or promotion
made.
"""

from __future__ import annotations

import itertools

from django import template
from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from apps.core.policies import policy_for
from apps.deployments.models import Deployment
from apps.deployments.selectors import live_deployment, live_deployments, previous_good_deployment
from apps.tenants.models import Environment, promotion_key, promotion_order
from apps.tenants.roles import Role

from ..filtersets import WorkloadFilterSet
from ..models import Health, Sync
from ..selectors import workload_list_for

register = template.Library()

# How health and sync look as badges; static/js/workload.js and workloads-live.js keep the same tables.
HEALTH_TONES = {
    Health.HEALTHY: "text-bg-success",
    Health.DEGRADED: "text-bg-danger",
    Health.MISSING: "text-bg-danger",
    Health.PROGRESSING: "text-bg-info",
    Health.SUSPENDED: "text-bg-secondary",
}
SYNC_TONES = {Sync.SYNCED: "text-bg-success", Sync.OUT_OF_SYNC: "text-bg-warning"}


@register.simple_tag
def incident_hold() -> str:
    """How long a cause must stay away before its incident resolves by itself, in words."""
    seconds = settings.INCIDENT_RESOLVE_AFTER_SECONDS
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


@register.simple_tag
def health_badge(health: str, label: str) -> str:
    """A workload's health as a badge, the health itself for the live scripts; unknown reads as a warning."""
    return format_html(
        '<span class="badge {}" data-health="{}">{}</span>', HEALTH_TONES.get(health, "text-bg-warning"), health, label
    )


@register.simple_tag
def sync_badge(sync: str, label: str) -> str:
    """A workload's sync as a badge, the sync itself for the live scripts."""
    return format_html(
        '<span class="badge {}" data-sync="{}">{}</span>', SYNC_TONES.get(sync, "text-bg-light border"), sync, label
    )


def _actions(request, role, application, environment, workload, environments, live) -> dict:
    """What one environment's row offers the viewer: deploy, and for what runs there now (`live`, its
    live deployment) scale, restart, roll back and promote, each only where it can apply."""
    may_change = live is not None and policy_for(Deployment).can_change(request, live)
    long_running = application.component_kind != "cron"
    autoscaled = bool(live and live.release.autoscale_max)
    replicas = None
    if workload is not None:
        kept = getattr(workload, "formation", None)  # rows from workload_list_for carry it
        replicas = kept if kept is not None else workload.replicas
    if replicas is None and live is not None:
        replicas = live.release.replicas
    return {
        "environment": environment,
        "workload": workload,
        "live": live,
        "may_change": may_change,
        "scalable": may_change and long_running and not autoscaled,
        "autoscaled": autoscaled,
        "restartable": may_change and long_running,
        "rollback_target": previous_good_deployment(live) if may_change else None,
        "promote_to": [env for env in environments if env.pk != environment.pk] if may_change else [],
        "replicas": replicas,
        "is_owner": role == Role.OWNER,
    }


@register.inclusion_tag("workloads/_running_now.html", takes_context=True)
def running_now(context, application):
    """Every environment of the tenant in promotion order: what runs there now as last read from the
    cluster, and the actions on it."""
    request = context["request"]
    tenant = application.tenant
    workloads = {w.environment_id: w for w in workload_list_for(request, tenant).filter(application=application)}
    environments = list(Environment.objects.filter(tenant=tenant).order_by(*promotion_order()))
    live = live_deployments(application, environments)
    rows = [
        _actions(request, context.get("role"), application, env, workloads.get(env.pk), environments, live.get(env.pk))
        for env in environments
    ]
    released = application.releases.exists()
    return {
        "application": application,
        "rows": rows,
        "tenant": tenant,
        "request": request,
        "next": context.get("next_path") or request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        "may_deploy": released and policy_for(Deployment).can_add(request, tenant),
        "shown": bool(workloads) or released,
    }


@register.inclusion_tag("workloads/_actions.html", takes_context=True)
def workload_actions(context, workload):
    """The same actions for one workload, on its page."""
    request = context["request"]
    environments = sorted(Environment.objects.filter(tenant=workload.tenant), key=promotion_key)
    live = live_deployment(workload.application, workload.environment)
    row = _actions(
        request, context.get("role"), workload.application, workload.environment, workload, environments, live
    )
    return {
        **row,
        "application": workload.application,
        "tenant": workload.tenant,
        "request": request,
        "next": context.get("next_path") or request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        "standalone": True,
    }


OVERVIEW_ROWS = 20
ROW_COLUMNS = (
    "tenant__slug",
    "application__name",
    "environment__name",
    "release__number",
    "replicas",
    "ready_replicas",
    "health",
    "health_reason",
    "sync",
    "observed_at",
)


@register.inclusion_tag("workloads/_overview.html", takes_context=True)
def tenant_workloads(context):
    """The tenant's workloads for its overview: degraded first, filtered by `?health=` and `?sync=`."""
    request = context["request"]
    rows = WorkloadFilterSet(request.GET, queryset=workload_list_for(request, request.tenant)).qs
    # What workloads/_row.html shows: not the pods, drift and replica history, nor a release's JSON.
    rows = rows.only(*ROW_COLUMNS)
    shown = list(rows[: OVERVIEW_ROWS + 1])
    return {
        "tenant": request.tenant,
        "workloads": shown[:OVERVIEW_ROWS],
        "more": rows.count() - OVERVIEW_ROWS if len(shown) > OVERVIEW_ROWS else 0,
        "healths": Health.choices,
        "syncs": Sync.choices,
        "chosen": {"health": request.GET.get("health", ""), "sync": request.GET.get("sync", "")},
    }


@register.filter
def cluster_time(value):
    """A time the cluster wrote as ISO text (a pod's creationTimestamp), as a datetime for |date."""
    if not value:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 140, 24


@register.inclusion_tag("workloads/_replica_chart.html")
def replica_chart(workload):
    """The replica counts of the last hours as an SVG chart: desired and ready per minute, and each
    change of the autoscaler's decision marked. Numbers only, computed here; the template draws them."""
    samples = [sample for sample in workload.replica_history or [] if parse_datetime(sample[0])]
    if len(samples) < 2:
        return {"samples": samples, "drawn": False}
    times = [parse_datetime(sample[0]).timestamp() for sample in samples]
    span = max(times[-1] - times[0], 60)
    top = max(max(s[1] or 0, s[2] or 0, s[3] or 0) for s in samples) or 1
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def point(at: float, value) -> tuple[float, float]:
        x = CHART_PAD + (at - times[0]) / span * inner_w
        y = CHART_PAD + inner_h - (value or 0) / top * inner_h
        return round(x, 1), round(y, 1)

    def line(index: int) -> str:
        """In steps: a count holds from the read that saw it until the next read, which is the next
        sample only when something changed (a quiet workload is not read), so never a slope between."""
        points = [point(at, s[index]) for at, s in zip(times, samples, strict=True)]
        steps = [points[0]] + [p for before, now in itertools.pairwise(points) for p in ((now[0], before[1]), now)]
        return " ".join(f"{x},{y}" for x, y in steps)

    decisions = [
        {"x": point(at, s[3])[0], "y": point(at, s[3])[1], "to": s[3], "at": s[0]}
        for at, s, previous in zip(times[1:], samples[1:], samples[:-1], strict=True)
        if s[3] is not None and s[3] != previous[3]
    ]
    return {
        "drawn": True,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "desired": line(1),
        "ready": line(2),
        "decisions": decisions,
        "top": top,
        "top_y": CHART_PAD,
        "bottom_y": CHART_HEIGHT - CHART_PAD,
        "first": parse_datetime(samples[0][0]),
        "last": parse_datetime(samples[-1][0]),
        "samples": samples,
        "autoscaled": any(s[3] is not None for s in samples),
    }
