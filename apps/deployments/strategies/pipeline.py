"""The canary and blue-green steps the deployment tasks run, one short look per task.

Each look re-reads the row and the cluster and does the next thing the recorded steps call for, so
a look repeated after a killed worker records nothing twice and skips nothing: cluster writes are
idempotent server-side applies and deletes, and every record carries a key.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.utils import timezone

from apps.clusters.services import kube_of
from apps.core.errors import ApplicationError

from ..choices import EventKind, State, Strategy
from ..manifests import LABEL, render
from ..models import DEADLINE_GRACE_SECONDS, Deployment
from ..pipeline import fail, pod_observations, renew_lease, rollout_observations
from ..selectors import live_colour, serving_colour, step_recorded_at
from ..services import deployment_observe, deployment_transition, steps
from .manifests import (
    COLOUR,
    COLOURS,
    TRACK,
    TRAFFIC_KINDS,
    canary_name,
    colour_name,
    other_colour,
    render_canary,
    render_colour,
)
from .plan import StrategyPlan, steps_of

CANARY_KINDS = (("networking.k8s.io/v1", "Ingress"), ("v1", "Service"), ("apps/v1", "Deployment"))
REMOVED = "canary:removed"


def first_manifests(row: Deployment) -> list[dict]:
    """What apply_step applies: the rolling objects, the first canary step, or the new colour without
    the traffic objects (they switch only once it is ready)."""
    deadline = row.progress_deadline_seconds
    if row.strategy == Strategy.CANARY:
        return render_canary(row.release, row.environment, row.pk, weight=steps_of(row)[0],
                             progress_deadline_seconds=deadline)
    if row.strategy == Strategy.BLUE_GREEN:
        colour = steps.colour_choose(row)
        return [m for m in render_colour(row.release, row.environment, row.pk, colour=colour,
                                         progress_deadline_seconds=deadline) if m["kind"] not in TRAFFIC_KINDS]
    return render(row.release, row.environment, row.pk, progress_deadline_seconds=deadline)


def manifests_preview(*, release, environment, plan: StrategyPlan, progress_deadline_seconds: int) -> list[dict]:
    """What the first apply of a deployment with this plan would send, for the deploy form's preview."""
    if plan.strategy == Strategy.CANARY:
        return render_canary(release, environment, weight=plan.steps[0],
                             progress_deadline_seconds=progress_deadline_seconds)
    if plan.strategy == Strategy.BLUE_GREEN:
        live = serving_colour(release.application_id, environment.pk)
        return render_colour(release, environment, colour=other_colour(live) if live else COLOURS[0],
                             progress_deadline_seconds=progress_deadline_seconds)
    return render(release, environment, progress_deadline_seconds=progress_deadline_seconds)


def observe(deployment_id: int, attempt: int) -> bool | None:
    """One look for a canary or blue-green row; None for a rolling one (the native pipeline's). A
    finished canary that did not succeed gets its canary removed here, on the look after the cancel."""
    row = (Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
           .filter(pk=deployment_id, attempts=attempt).exclude(strategy=Strategy.ROLLING).first())
    if row is None:
        return None
    if row.is_terminal:
        if row.strategy == Strategy.CANARY and row.state != State.SUCCEEDED:
            canary_remove(row)
        return False
    if row.state != State.PROGRESSING:
        return False
    renew_lease(row)
    return _canary(row) if row.strategy == Strategy.CANARY else _blue_green(row)


# --- Canary ------------------------------------------------------------------------------------


def _canary(row: Deployment) -> bool:
    if row.step == 0:
        steps.canary_step_start(row, 1)
    weight = steps_of(row)[row.step - 1]
    if weight == 100:
        return _promote(row)
    namespace, name = row.environment.namespace, canary_name(row.release)
    with kube_of(row.environment) as kube:
        if row.step > 1:
            _apply_once(row, kube, render_canary(row.release, row.environment, row.pk, weight=weight,
                                                 progress_deadline_seconds=row.progress_deadline_seconds))
        status = kube.rollout_status(namespace, name)
        pods, _ = kube.list("v1", "Pod", namespace, label_selector=f"{LABEL}/application={row.application.name},"
                                                                   f"{TRACK}=canary")
    deployment_observe(deployment=row, observations=_prefixed(pod_observations(pods) + rollout_observations(status)))
    problem = _unhealthy(row, status, pods)
    if problem:
        _abort(row, problem)
        return False
    if status.complete and _all_ready(pods, status.desired):
        _healthy(row)
    return True


def _healthy(row: Deployment) -> None:
    """A ready step waits for a continue, or with a health gate advances once healthy for long enough."""
    gate = row.strategy_config.get("gate_seconds")
    if gate is None:
        steps.canary_step_wait(row)
        return
    key = f"step:{row.step}:healthy"
    steps.step_record(row, key=key, message=f"Step {row.step}: canary pods ready; health gate of {gate} s started")
    if timezone.now() >= step_recorded_at(row, key) + timedelta(seconds=gate):
        steps.canary_step_start(row, row.step + 1)


def _unhealthy(row: Deployment, status, pods: list[dict]) -> str:
    """Why the canary fails its step, or "": missing, restarting, not ready by the step's deadline."""
    if status is None:
        return "the canary Deployment is missing from the cluster"
    restarts = sum(c.get("restartCount") or 0 for p in pods for c in (p.get("status") or {}).get("containerStatuses") or [])
    if restarts:
        return f"canary pods restarted {restarts} time(s)"
    if status.failed:
        return f"no progress within the {row.progress_deadline_seconds}-second progress deadline: {status.message}"
    started = step_recorded_at(row, f"step:{row.step}:started")
    if started and timezone.now() > started + timedelta(seconds=row.progress_deadline_seconds + DEADLINE_GRACE_SECONDS):
        return f"not ready within {row.progress_deadline_seconds} seconds: {status.message}"
    return ""


def _all_ready(pods: list[dict], desired: int) -> bool:
    ready = [p for p in pods if any(c.get("type") == "Ready" and c.get("status") == "True"
                                    for c in (p.get("status") or {}).get("conditions") or [])]
    return len(ready) >= desired == len(pods)


def _promote(row: Deployment) -> bool:
    """The last step: the stable Deployment rolls out the release; once complete the canary goes."""
    app, namespace = row.application, row.environment.namespace
    with kube_of(row.environment) as kube:
        _apply_once(row, kube, render(row.release, row.environment, row.pk,
                                      progress_deadline_seconds=row.progress_deadline_seconds))
        status = kube.rollout_status(namespace, app.name)
    deployment_observe(deployment=row, observations=rollout_observations(status))
    if status is not None and status.complete:
        canary_remove(row)
        with contextlib.suppress(ApplicationError):
            deployment_transition(deployment=row, to_state=State.SUCCEEDED,
                                  reason=f"Canary promoted: {status.ready} of {status.desired} replicas ready")
        return False
    problem = "The Deployment is missing from the cluster." if status is None else (
        f"Rollout failed: {status.message}" if status.failed else "")
    if problem:
        _abort(row, problem)
        return False
    return True


def _apply_once(row: Deployment, kube, manifests: list[dict]) -> None:
    """Apply a step's objects unless recorded as applied; a crash in between applies them again, harmlessly."""
    key = f"step:{row.step}:applied"
    if row.events.filter(key=key).exists():
        return
    kube.apply(manifests)
    names = ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in manifests)
    deployment_observe(deployment=row, observations=[{"key": key, "kind": EventKind.LOG, "message": f"Applied {names}"}])


def _abort(row: Deployment, problem: str) -> None:
    """Remove the canary first, then fail: traffic is back on the untouched stable Deployment."""
    canary_remove(row)
    fail(row, f"Canary aborted at step {row.step}: {problem}")


def canary_remove(row: Deployment) -> None:
    """Delete the canary's objects (gone ones are fine) and record it once."""
    if row.events.filter(key=REMOVED).exists():
        return
    namespace, name = row.environment.namespace, canary_name(row.release)
    with kube_of(row.environment) as kube:
        for api_version, kind in CANARY_KINDS:
            kube.delete(api_version, kind, name, namespace)
        kube.delete("v1", "ConfigMap", f"{name}-env", namespace)
    steps.step_record(row, key=REMOVED, message=f"Canary {name} removed; the stable Deployment serves all traffic")


def _prefixed(observations: list[dict]) -> list[dict]:
    """Canary observations get their own keys: the stable rollout later reports the same messages."""
    return [{**o, "key": f"canary:{o['key']}", "message": f"Canary: {o['message']}"} for o in observations]


# --- Blue-green --------------------------------------------------------------------------------


def _blue_green(row: Deployment) -> bool:
    """Observe the new colour; once it is ready, switch the Service to it and succeed."""
    namespace, colour = row.environment.namespace, row.colour
    with kube_of(row.environment) as kube:
        status = kube.rollout_status(namespace, colour_name(row.release, colour))
        pods, _ = kube.list("v1", "Pod", namespace, label_selector=f"{LABEL}/application={row.application.name},"
                                                                   f"{COLOUR}={colour},{LABEL}/release={row.release.number}")
        deployment_observe(deployment=row, observations=pod_observations(pods) + rollout_observations(status))
        if status is not None and status.complete:
            kube.apply(traffic_manifests(row, row, colour))
            steps.colour_went_live(row, previous=live_colour(row))
            return False
    if status is None:
        fail(row, f"The Deployment {colour_name(row.release, colour)} is missing from the cluster.")
    elif status.failed or timezone.now() > row.started_at + timedelta(seconds=row.progress_deadline_seconds + DEADLINE_GRACE_SECONDS):
        fail(row, f"{colour.capitalize()} did not become ready within {row.progress_deadline_seconds} seconds; "
                  f"traffic stays where it was. The cluster says: {status.message}")
    else:
        return True
    return False


def traffic_manifests(row: Deployment, source: Deployment, colour: str) -> list[dict]:
    """The Service and Ingress sending traffic to `colour`, as `source` (the deployment that rolled it) renders them."""
    return [m for m in render_colour(source.release, row.environment, source.pk, colour=colour,
                                     progress_deadline_seconds=source.progress_deadline_seconds)
            if m["kind"] in TRAFFIC_KINDS]
