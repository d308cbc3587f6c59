"""The canary: a second Deployment takes a rising share of traffic step by step; at 100 the stable
Deployment takes the release and the canary goes.

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
from ..models import Deployment
from ..selectors import step_recorded_at
from ..services import deployment_fail, deployment_observe, deployment_transition
from ..services.steps import canary_step_start, canary_step_wait, step_record
from .base import applied, cluster_says, past_deadline
from .manifests import TRACK, canary_name, render_canary
from .observations import pod_observations, rollout_observations
from .plan import StrategyPlan, steps_of

CANARY_KINDS = (("networking.k8s.io/v1", "Ingress"), ("v1", "Service"), ("apps/v1", "Deployment"))
REMOVED = "canary:removed"


class Canary:
    """Steps of traffic percentages ending at 100, each waiting for a continue or a health gate."""

    name: str = Strategy.CANARY

    def render(self, *, release, environment, plan: StrategyPlan, progress_deadline_seconds: int) -> list[dict]:
        return render_canary(
            release,
            environment,
            weight=plan.steps[0],
            progress_deadline_seconds=progress_deadline_seconds,
            match_header=plan.match_header,
            match_cookie=plan.match_cookie,
        )

    def first_step(self, row: Deployment) -> list[dict]:
        return _render_step(row, steps_of(row)[0])

    def observe(self, row: Deployment) -> bool:
        if row.step == 0:
            canary_step_start(row, 1)
        weight = steps_of(row)[row.step - 1]
        if weight == 100:
            return self._promote(row)
        namespace, name = row.environment.namespace, canary_name(row.release)
        with kube_of(row.environment) as kube:
            if row.step > 1:
                _apply_once(row, kube, _render_step(row, weight))
            status = kube.rollout_status(namespace, name)
            pods, _ = kube.list(
                "v1", "Pod", namespace, label_selector=f"{LABEL}/application={row.application.name},{TRACK}=canary"
            )
        deployment_observe(
            deployment=row, observations=_prefixed(pod_observations(pods) + rollout_observations(status))
        )
        problem = _unhealthy(row, status, pods)
        if problem:
            self._abort(row, problem)
            return False
        if status.complete and _all_ready(pods, status.desired):
            self._healthy(row)
        return True

    def next_step(self, row: Deployment) -> bool:
        return canary_step_start(row, row.step + 1)

    def finish(self, row: Deployment, status) -> None:
        self.cancel(row)  # the stable Deployment runs the release now: the canary goes
        with contextlib.suppress(ApplicationError):  # cancelled meanwhile
            deployment_transition(
                deployment=row,
                to_state=State.SUCCEEDED,
                reason=f"Canary promoted: {status.ready} of {status.desired} replicas ready",
            )

    def cancel(self, row: Deployment) -> None:
        """Take the canary's rule off the route's HTTPRoute, delete the canary's objects (gone ones are
        fine) and record it once."""
        if row.events.filter(key=REMOVED).exists():
            return
        namespace, name = row.environment.namespace, canary_name(row.release)
        with kube_of(row.environment) as kube:
            _route_restore(kube, row, name)
            for api_version, kind in CANARY_KINDS:
                kube.delete(api_version, kind, name, namespace)
            kube.delete("v1", "ConfigMap", f"{name}-env", namespace)
        step_record(row, key=REMOVED, message=f"Canary {name} removed; the stable Deployment serves all traffic")

    def _healthy(self, row: Deployment) -> None:
        """A ready step waits for a continue, or with a health gate advances once healthy for long enough."""
        gate = row.strategy_config.get("gate_seconds")
        if gate is None:
            canary_step_wait(row)
            return
        key = f"step:{row.step}:healthy"
        step_record(row, key=key, message=f"Step {row.step}: canary pods ready; health gate of {gate} s started")
        if timezone.now() >= step_recorded_at(row, key) + timedelta(seconds=gate):
            self.next_step(row)

    def _promote(self, row: Deployment) -> bool:
        """The last step: the stable Deployment rolls out the release; once complete the canary goes."""
        app, namespace = row.application, row.environment.namespace
        with kube_of(row.environment) as kube:
            _apply_once(
                row,
                kube,
                render(row.release, row.environment, row.pk, progress_deadline_seconds=row.progress_deadline_seconds),
            )
            status = kube.rollout_status(namespace, app.name)
        deployment_observe(deployment=row, observations=rollout_observations(status))
        if status is not None and status.complete:
            self.finish(row, status)
            return False
        problem = (
            "The Deployment is missing from the cluster."
            if status is None
            else (f"Rollout failed: {cluster_says(status)}" if status.failed else "")
        )
        if problem:
            self._abort(row, problem)
            return False
        return True

    def _abort(self, row: Deployment, problem: str) -> None:
        """Remove the canary first, then fail: traffic is back on the untouched stable Deployment."""
        self.cancel(row)
        deployment_fail(deployment=row, reason=f"Canary aborted at step {row.step}: {problem}")


def _render_step(row: Deployment, weight: int) -> list[dict]:
    """The canary's objects at a step's weight, with the requests the row's plan matches."""
    return render_canary(
        row.release,
        row.environment,
        row.pk,
        weight=weight,
        progress_deadline_seconds=row.progress_deadline_seconds,
        match_header=row.strategy_config.get("match_header"),
        match_cookie=row.strategy_config.get("match_cookie") or "",
    )


def _route_restore(kube, row: Deployment, canary: str) -> None:
    """Apply the route's own HTTPRoute again where the live one still sends to the canary: the canary's
    rules go with it (on ingress-nginx the canary's Ingress is deleted with its other objects)."""
    routed = render(row.release, row.environment, row.pk, progress_deadline_seconds=row.progress_deadline_seconds)
    for route in routed:
        if route["kind"] != "HTTPRoute":
            continue
        live = kube.get(route["apiVersion"], "HTTPRoute", route["metadata"]["name"], row.environment.namespace)
        rules = ((live or {}).get("spec") or {}).get("rules") or []
        if any(ref.get("name") == canary for rule in rules for ref in rule.get("backendRefs") or []):
            kube.apply([route])


def _unhealthy(row: Deployment, status, pods: list[dict]) -> str:
    """Why the canary fails its step, or "": missing, restarting, not ready by the step's deadline."""
    if status is None:
        return "the canary Deployment is missing from the cluster"
    restarts = sum(
        c.get("restartCount") or 0 for p in pods for c in (p.get("status") or {}).get("containerStatuses") or []
    )
    if restarts:
        return f"canary pods restarted {restarts} time(s)"
    if status.failed:
        return (
            f"no progress within the {row.progress_deadline_seconds}-second progress deadline: {cluster_says(status)}"
        )
    started = step_recorded_at(row, f"step:{row.step}:started")
    if started and past_deadline(row, started):
        return f"not ready within {row.progress_deadline_seconds} seconds: {cluster_says(status)}"
    return ""


def _all_ready(pods: list[dict], desired: int) -> bool:
    ready = [
        p
        for p in pods
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    ]
    return len(ready) >= desired == len(pods)


def _apply_once(row: Deployment, kube, manifests: list[dict]) -> None:
    """Apply a step's objects unless recorded as applied; a crash in between applies them again, harmlessly."""
    key = f"step:{row.step}:applied"
    if row.events.filter(key=key).exists():
        return
    kube.apply(manifests)
    deployment_observe(
        deployment=row, observations=[{"key": key, "kind": EventKind.LOG, "message": f"Applied {applied(manifests)}"}]
    )


def _prefixed(observations: list[dict]) -> list[dict]:
    """Canary observations get their own keys: the stable rollout later reports the same messages."""
    return [{**o, "key": f"canary:{o['key']}", "message": f"Canary: {o['message']}"} for o in observations]
