"""What a change request asks for, rendered: the fingerprint approvals are bound to, and the diffs shown.

A change is rendered from what it would apply (the manifests of the release in the environment, or
the new replica count) and from what is live in the cluster now. The fingerprint covers both, so an
approval stops counting when the release, its template, the environment or the live state moved.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field

import yaml

from apps.clusters.services import explain_failure, kube_of
from apps.deployments.choices import State
from apps.deployments.manifests import LABEL, render
from apps.deployments.models import Deployment
from apps.tenants.models import Quota
from apps.tenants.quotas import usage_of

from .choices import ChangeKind

# Release fields shown side by side with the release that runs now.
RELEASE_FIELDS = (
    "image",
    "image_digest",
    "env",
    "secret_refs",
    "command",
    "args",
    "ports",
    "replicas",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "liveness_probe",
    "readiness_probe",
    "ingress_host",
    "ingress_path",
    "autoscale_min",
    "autoscale_max",
    "autoscale_cpu_target",
    "schedule",
)
# Set per deployment, so never part of what an approval is bound to.
VOLATILE_ANNOTATIONS = (f"{LABEL}/deployment",)


@dataclass
class Rendered:
    """The fingerprint and what the request page shows."""

    fingerprint: str
    change: dict = field(default_factory=dict)


def render_change(change_request) -> Rendered:
    """Render a request's change as it would apply right now."""
    if change_request.kind == ChangeKind.DEPLOY:
        return _render_deploy(change_request.deployment)
    if change_request.kind == ChangeKind.SCALE:
        return _render_scale(change_request.deployment, change_request.params["replicas"])
    if change_request.kind == ChangeKind.QUOTA:
        return _render_quota(change_request)
    if change_request.kind != ChangeKind.REVIEW:
        return _render_operation(change_request)
    # A post-hoc review looks at a change already made: it is bound to the request it reviews.
    reviewed = change_request.review_of
    return Rendered(reviewed.change_hash, {**reviewed.change, "summary": [f"Review of change request {reviewed.pk}"]})


def _fingerprint(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# --- Deploy ------------------------------------------------------------------------------------


def _render_deploy(deployment: Deployment) -> Rendered:
    release, environment = deployment.release, deployment.environment
    wanted = [
        _stable(obj)
        for obj in render(release, environment, progress_deadline_seconds=deployment.progress_deadline_seconds)
    ]
    live, live_error = _live(environment, wanted)
    running = _running_release(deployment)
    change = {
        "summary": [
            f"{release.application.name} release #{release.number} ({release.image}) to {environment.name}"
            + (f", replacing release #{running.number}" if running else ", first deploy here"),
            f"Strategy: {deployment.get_strategy_display()}",
        ],
        "release_diff": _release_diff(running, release),
        "manifest_diff": _manifest_diff(live, wanted),
        "live_error": live_error,
    }
    payload = {
        "wanted": wanted,
        "live": live,
        "live_error": bool(live_error),
        "strategy": deployment.strategy,
        "strategy_config": deployment.strategy_config,
        "running": running.pk if running else None,
    }
    return Rendered(_fingerprint(payload), change)


def _stable(obj: dict) -> dict:
    annotations = obj["metadata"].get("annotations", {})
    for key in VOLATILE_ANNOTATIONS:
        annotations.pop(key, None)
    return obj


def _running_release(deployment: Deployment):
    """The release that last succeeded in the environment, which this change replaces."""
    earlier = (
        Deployment.objects.filter(
            application=deployment.application_id, environment=deployment.environment_id, state=State.SUCCEEDED
        )
        .exclude(pk=deployment.pk)
        .select_related("release")
        .order_by("-id")
        .first()
    )
    return earlier.release if earlier else None


def _release_diff(running, release) -> list[dict]:
    rows = []
    for name in RELEASE_FIELDS:
        before = getattr(running, name) if running else None
        after = getattr(release, name)
        if before != after:
            rows.append({"field": name, "before": before, "after": after})
    return rows


def _live(environment, wanted: list[dict]) -> tuple[list[dict | None], str]:
    """Each wanted object as it is in the cluster now, cut down to the fields the portal sets."""
    try:
        with kube_of(environment) as kube:
            found = [
                kube.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"])
                for obj in wanted
            ]
    except Exception as exc:  # noqa: BLE001  (any failure to look is shown, and the fingerprint says so)
        return [None] * len(wanted), f"The live state could not be read: {explain_failure(exc)}"
    return [_project(live, obj) if live is not None else None for live, obj in zip(found, wanted, strict=True)], ""


def _project(live, shape):
    """The part of `live` that `shape` has: fields the cluster adds (status, uid, defaults) are left out."""
    if isinstance(shape, dict) and isinstance(live, dict):
        return {key: _project(live.get(key), value) for key, value in shape.items() if key in live}
    if isinstance(shape, list) and isinstance(live, list):
        return [_project(item, shape[index]) if index < len(shape) else item for index, item in enumerate(live)]
    return live


def _manifest_diff(live: list[dict | None], wanted: list[dict]) -> str:
    """A unified diff per object, live first: what applying would change in the cluster."""
    parts = []
    for before, after in zip(live, wanted, strict=True):
        name = f"{after['kind']}/{after['metadata']['name']}"
        old = yaml.safe_dump(before, sort_keys=True).splitlines(keepends=True) if before is not None else []
        new = yaml.safe_dump(after, sort_keys=True).splitlines(keepends=True)
        lines = list(
            difflib.unified_diff(
                old, new, fromfile=f"live/{name}" if before is not None else "/dev/null", tofile=f"new/{name}", n=3
            )
        )
        parts.append("".join(lines) if lines else f"  {name}: unchanged\n")
    return "".join(parts)


# --- Scale -------------------------------------------------------------------------------------


def _render_scale(deployment: Deployment, replicas: int) -> Rendered:
    name, environment = deployment.application.name, deployment.environment
    wanted = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": environment.namespace},
        "spec": {"replicas": replicas},
    }
    (live,), live_error = _live(environment, [wanted])
    before = (live or {}).get("spec", {}).get("replicas")
    change = {
        "summary": [f"{name} in {environment.name}: {before if before is not None else '?'} → {replicas} replicas"],
        "release_diff": [{"field": "replicas", "before": before, "after": replicas}],
        "manifest_diff": _manifest_diff([live], [wanted]),
        "live_error": live_error,
    }
    payload = {"deployment": deployment.pk, "replicas": replicas, "live": live, "live_error": bool(live_error)}
    return Rendered(_fingerprint(payload), change)


# --- Other day-2 operations (restart, remove, settings, and the restorative ones) ----------------


def _render_operation(change_request) -> Rendered:
    """Bound to what runs in the environment now: after another deploy (or a settings change) an
    approval given for the earlier state no longer counts."""
    environment, params = change_request.environment, change_request.params
    running = (
        Deployment.objects.filter(environment=environment, state=State.SUCCEEDED, removed_at__isnull=True)
        .order_by("application_id", "-id")
        .distinct("application_id")
        .values_list("application_id", "id")
    )
    settings = getattr(environment, "deploy_settings", None)
    rows = [{"field": key, "before": None, "after": value} for key, value in sorted(params.items())]
    if change_request.kind == ChangeKind.SETTINGS and settings is not None:
        rows = [
            {"field": name, "before": getattr(settings, name), "after": value} for name, value in sorted(params.items())
        ]
    change = {"summary": [change_request.title], "release_diff": rows, "manifest_diff": "", "live_error": ""}
    payload = {
        "kind": change_request.kind,
        "deployment": change_request.deployment_id,
        "params": params,
        "running": sorted(running),
        "auto_rollback": settings.auto_rollback if settings else None,
    }
    return Rendered(_fingerprint(payload), change)


# --- Quota -------------------------------------------------------------------------------------


def _render_quota(change_request) -> Rendered:
    """Bound to the limit in force now: an operator changing it meanwhile voids earlier approvals."""
    params, environment = change_request.params, change_request.environment
    resource, limit = params["resource"], params["limit"]
    current = (
        Quota.objects.filter(tenant=change_request.tenant_id, environment=environment, resource=resource)
        .values_list("limit", flat=True)
        .first()
    )
    used = usage_of(resource, change_request.tenant, environment)
    label = Quota.Resource(resource).label
    change = {
        "summary": [
            f"{label}{' in ' + environment.name if environment else ''}: "
            f"{current if current is not None else 'no limit'} → {limit} (in use: {used})"
        ],
        "release_diff": [{"field": f"quota.{resource}", "before": current, "after": limit}],
        "manifest_diff": "",
        "live_error": "",
    }
    payload = {
        "resource": resource,
        "environment": environment.pk if environment else None,
        "current": current,
        "limit": limit,
    }
    return Rendered(_fingerprint(payload), change)
