"""Deployment tasks: thin, ids in, a pipeline step called. Safe to run twice (see pipeline.py)."""

import random

import structlog
from celery import shared_task
from django.conf import settings
from django.db import transaction

from apps.clusters.kube import KubeError
from apps.clusters.services import cluster_of, explain_failure
from apps.core.errors import ApplicationError

from . import pipeline
from .choices import EventKind
from .services import ILLEGAL_TRANSITION, deployment_observe
from .strategies import tasks as strategy_tasks  # noqa: F401  (registers switch_back and tidy_strategies)

logger = structlog.get_logger(__name__)

OBSERVE_EVERY_SECONDS = 1.0


def _retry_or_fail(task, deployment_id: int, attempt: int, error: KubeError) -> None:
    """Transient cluster errors retry with jittered backoff; the rest (or too many) fail the deployment.
    Each retry is recorded with its cause, so a row waiting on an unreachable cluster says why."""
    logger.warning("deployment step failed", deployment=deployment_id, error=error.message, status=error.status)
    row = pipeline.current(deployment_id, attempt)
    retries = task.request.retries
    if (error.retryable or error.status is None) and retries < task.max_retries:
        countdown = random.uniform(0.5, min(settings.DEPLOYMENT_RETRY_MAX_SECONDS, 2.0 ** (retries + 1)))
        if row is not None:
            deployment_observe(deployment=row, observations=[{
                "key": f"retry:{task.name}:{attempt}:{retries + 1}", "kind": EventKind.LOG,
                "message": f"{_problem(row, error)} Retrying in {countdown:.1f} s ({retries + 1} of "
                           f"{task.max_retries}).", "data": {"retry": retries + 1, "status": error.status}}])
        raise task.retry(countdown=countdown)
    if row is not None:
        pipeline.fail(row, _problem(row, error))


def _problem(row, error: KubeError) -> str:
    """No HTTP status means the cluster never answered: name it and say why, not the client's traceback."""
    if error.status is None:
        cluster = cluster_of(row.environment)
        return f"Cannot reach cluster {cluster.name}: {explain_failure(error)}"
    return f"The cluster refused the deployment: {error.message}"


def _stop_if_finished_elsewhere(deployment_id: int, error: ApplicationError) -> None:
    """A cancel or rollback that finished the row while a step ran makes the step's own move illegal:
    the step stops there and schedules nothing. Any other refusal is a bug and is raised."""
    if error.code != ILLEGAL_TRANSITION:
        raise error
    logger.info("deployment step stopped: finished elsewhere", deployment=deployment_id)


def _step(task, step, deployment_id: int, attempt: int) -> None:
    """Run one pipeline step; when it asks for more, look at the rollout again shortly."""
    try:
        observe = step(deployment_id=deployment_id, attempt=attempt)
    except KubeError as error:
        _retry_or_fail(task, deployment_id, attempt, error)
        return
    except ApplicationError as error:
        _stop_if_finished_elsewhere(deployment_id, error)
        return
    if observe:
        observe_deployment.apply_async((deployment_id, attempt), countdown=OBSERVE_EVERY_SECONDS)


@shared_task(bind=True, max_retries=6, ignore_result=True)
def run_deployment(self, deployment_id: int, attempt: int) -> None:
    """Apply the release's manifests, then hand over to observe_deployment."""
    _step(self, pipeline.apply_step, deployment_id, attempt)


@shared_task(bind=True, max_retries=6, ignore_result=True)
def observe_deployment(self, deployment_id: int, attempt: int) -> None:
    """One short look at the rollout; schedules the next look until the deployment finishes."""
    _step(self, pipeline.observe_step, deployment_id, attempt)


@shared_task(ignore_result=True)
def reconcile_deployments() -> None:
    """Beat, every 30 s: restart the pipeline of every in-flight deployment whose lease expired."""
    for deployment_id in pipeline.stalled():
        with transaction.atomic():
            step = pipeline.restart(deployment_id)
            if step is not None:
                task = observe_deployment if step[0] == "observe" else run_deployment
                transaction.on_commit(lambda task=task, attempt=step[1], pk=deployment_id: task.delay(pk, attempt))
        if step is not None:
            logger.info("deployment restarted", deployment=deployment_id, step=step[0], attempt=step[1])
