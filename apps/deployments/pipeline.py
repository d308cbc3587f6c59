"""The pipeline steps the tasks run: apply, observe, and the reconciler's restart of stalled rows.

Each step reloads the row and does nothing for a terminal row or for a task carrying an older
attempt than the row's, so a redelivered or duplicated message is harmless. Cluster calls happen
outside the row lock; everything recorded goes through the services' transition and observe.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.clusters.services import environment_provision, kube_of, placement_for
from apps.core.errors import ApplicationError

from .choices import EventKind, State
from .manifests import LABEL
from .models import DEADLINE_GRACE_SECONDS, LEASE_SECONDS, Deployment
from .services import deployment_auto_rollback, deployment_observe, deployment_transition

MAX_ATTEMPTS = 5
RESTARTABLE = (State.QUEUED, State.APPLYING, State.PROGRESSING)


def current(deployment_id: int, attempt: int) -> Deployment | None:
    """The row if this task still owns it: not terminal and the attempt is the row's latest."""
    row = (Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
           .filter(pk=deployment_id).first())
    if row is None or row.is_terminal or row.attempts != attempt:
        return None
    return row


def renew_lease(row: Deployment) -> None:
    Deployment.objects.filter(pk=row.pk, attempts=row.attempts).update(
        lease_expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS))


def fail(row: Deployment, reason: str) -> None:
    """Mark failed unless something else already finished it; then roll back if the environment says so."""
    try:
        deployment_transition(deployment=row, to_state=State.FAILED, reason=reason)
    except ApplicationError:
        return
    deployment_auto_rollback(deployment=row)


def _cluster_for(row: Deployment):
    """The environment's cluster, provisioning its namespace first when that has not happened yet."""
    placement = placement_for(row.environment)
    if placement.provisioned_at is None:
        placement = environment_provision(environment=row.environment)
    return placement.cluster


def apply_step(*, deployment_id: int, attempt: int) -> bool:
    """queued -> applying -> (apply manifests) -> progressing. True when the rollout should be observed.
    KubeError propagates so the task can retry transient failures."""
    row = current(deployment_id, attempt)
    if row is None or row.state == State.PENDING_APPROVAL:
        return False
    if row.state == State.PROGRESSING:
        return True
    if row.state == State.QUEUED:
        deployment_transition(deployment=row, to_state=State.APPLYING, reason="Applying manifests")
    renew_lease(row)
    try:
        cluster = _cluster_for(row)
    except ApplicationError as error:
        fail(row, error.message)
        return False
    from .strategies.pipeline import first_manifests  # the strategies build on this module

    manifests = first_manifests(row)
    with kube_of(row.environment) as kube:
        kube.apply(manifests)
    applied = ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in manifests)
    deployment_observe(deployment=row, observations=[{
        "key": "log:applied", "kind": EventKind.LOG, "message": f"Applied {applied} to {cluster.name}",
        "data": {"cluster": cluster.name, "namespace": row.environment.namespace}}])
    try:
        deployment_transition(deployment=row, to_state=State.PROGRESSING, reason="Rolling out")
    except ApplicationError:
        return False  # cancelled or rolled back while applying
    return True


def observe_step(*, deployment_id: int, attempt: int) -> bool:
    """Record what the cluster shows and finish the deployment when it can. True: look again later."""
    from .strategies.pipeline import observe as strategy_observe  # the strategies build on this module

    if (again := strategy_observe(deployment_id, attempt)) is not None:
        return again
    row = current(deployment_id, attempt)
    if row is None or row.state != State.PROGRESSING:
        return False
    renew_lease(row)
    app, namespace = row.application, row.environment.namespace
    with kube_of(row.environment) as kube:
        status = None if app.component_kind == "cron" else kube.rollout_status(namespace, app.name)
        selector = f"{LABEL}/application={app.name},{LABEL}/release={row.release.number}"
        pods, _ = kube.list("v1", "Pod", namespace, label_selector=selector)
    deployment_observe(deployment=row, observations=pod_observations(pods) + rollout_observations(status))
    return True if row.paused_at else _conclude(row, status)


def _portal_deadline(row: Deployment):
    """When the portal gives up on its own: the deadline plus grace, counted from the start or from the
    last resume, since paused time is not stalling."""
    since = max(row.started_at, row.resumed_at or row.started_at)
    return since + timedelta(seconds=row.progress_deadline_seconds + DEADLINE_GRACE_SECONDS)


def _cluster_gave_up(row: Deployment, status) -> bool:
    """The cluster's own deadline verdict, except just after a resume: the sandbox (unlike Kubernetes)
    counts paused time against the deadline, so its verdict waits one deadline from the resume."""
    fresh = row.resumed_at and timezone.now() < row.resumed_at + timedelta(seconds=row.progress_deadline_seconds)
    return status.failed and not fresh


def _conclude(row: Deployment, status) -> bool:
    if row.application.component_kind == "cron":
        deployment_transition(deployment=row, to_state=State.SUCCEEDED,
                              reason="Cron jobs have no rollout: succeeded once the CronJob was applied")
        return False
    if status is None:
        fail(row, "The Deployment is missing from the cluster.")
    elif status.complete:
        deployment_transition(deployment=row, to_state=State.SUCCEEDED,
                              reason=f"Rollout complete: {status.ready} of {status.desired} replicas ready")
    elif _cluster_gave_up(row, status):
        fail(row, f"Rollout failed: no progress within the {row.progress_deadline_seconds}-second progress "
                  f"deadline. The cluster says: {status.message}")
    elif timezone.now() > _portal_deadline(row):
        fail(row, f"No progress within {row.progress_deadline_seconds} seconds: {status.message}")
    else:
        return True
    return False


def rollout_observations(status) -> list[dict]:
    if status is None:
        return []
    data = {"desired": status.desired, "updated": status.updated, "ready": status.ready, "available": status.available}
    return [{"key": f"rollout:{status.message}", "kind": EventKind.ROLLOUT, "message": status.message, "data": data}]


def pod_observations(pods: list[dict]) -> list[dict]:
    """New pod, pod ready, restarts, image pull errors and crash loops, each keyed so it is recorded once."""
    found = []
    for pod in sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"])):
        name, status = pod["metadata"]["name"], pod.get("status") or {}
        found.append(_pod(name, "created", f"Pod {name} created"))
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        if conditions.get("Ready") == "True":
            found.append(_pod(name, "ready", f"Pod {name} is ready"))
        for container in status.get("containerStatuses") or []:
            found.extend(_container_observations(name, container))
    return found


def _container_observations(pod: str, container: dict) -> list[dict]:
    found = []
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    if reason in ("ErrImagePull", "ImagePullBackOff"):
        found.append(_pod(pod, "pull-error", f"Pod {pod} cannot pull its image: {waiting.get('message') or reason}",
                          reason=reason))
    if reason == "CrashLoopBackOff":
        found.append(_pod(pod, "crash-loop", f"Pod {pod} is crash-looping", reason=reason))
    restarts = container.get("restartCount") or 0
    if restarts:
        found.append(_pod(pod, f"restarts:{restarts}", f"Pod {pod} restarted ({restarts} so far)", restarts=restarts))
    return found


def _pod(name: str, what: str, message: str, **data) -> dict:
    return {"key": f"pod:{name}:{what}", "kind": EventKind.POD, "message": message, "data": {"pod": name, **data}}


def stalled() -> list[int]:
    """Rows still in flight whose lease ran out: their worker died or their message was lost."""
    return list(Deployment.objects.filter(state__in=RESTARTABLE, lease_expires_at__lt=timezone.now())
                .values_list("pk", flat=True))


@transaction.atomic
def restart(deployment_id: int) -> tuple[str, int] | None:
    """Take the pipeline over with a new attempt; (step, attempt) to dispatch, or None."""
    row = Deployment.objects.select_for_update().filter(pk=deployment_id, state__in=RESTARTABLE,
                                                        lease_expires_at__lt=timezone.now()).first()
    if row is None:
        return None
    if row.attempts >= MAX_ATTEMPTS and row.paused_at is None:  # a paused row is idle on purpose
        fail(row, f"The pipeline stalled {row.attempts} times; giving up.")
        return None
    row.attempts += 1
    row.lease_expires_at = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    row.save(update_fields=["attempts", "lease_expires_at"])
    return ("observe" if row.state == State.PROGRESSING else "apply"), row.attempts
