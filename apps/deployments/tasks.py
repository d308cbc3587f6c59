"""Deployment tasks: thin, ids in, a pipeline step or a strategy called. Safe to run twice (see pipeline.py).

Each task is registered under its name in dispatch.py, the name the services send it by."""

import random

import structlog
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.clusters.kube import KubeError
from apps.clusters.services import cluster_of, explain_failure
from apps.core.errors import ApplicationError

from . import dispatch, pipeline
from .choices import EventKind, State, Strategy
from .models import Deployment
from .services import ILLEGAL_TRANSITION, deployment_fail, deployment_observe
from .strategies.blue_green import BlueGreen
from .strategies.canary import REMOVED, Canary

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
        deployment_fail(deployment=row, reason=_problem(row, error))


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


@shared_task(name=dispatch.RUN, bind=True, max_retries=6, ignore_result=True)
def run_deployment(self, deployment_id: int, attempt: int) -> None:
    """Apply the release's manifests, then hand over to observe_deployment."""
    _step(self, pipeline.apply_step, deployment_id, attempt)


@shared_task(name=dispatch.OBSERVE, bind=True, max_retries=6, ignore_result=True)
def observe_deployment(self, deployment_id: int, attempt: int) -> None:
    """One short look at the rollout; schedules the next look until the deployment finishes."""
    _step(self, pipeline.observe_step, deployment_id, attempt)


@shared_task(name=dispatch.RECONCILE, ignore_result=True)
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


# --- Strategies --------------------------------------------------------------------------------


def _row(deployment_id: int) -> Deployment | None:
    return (Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
            .filter(pk=deployment_id).first())


@shared_task(name=dispatch.SWITCH_BACK, bind=True, max_retries=6, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, retry_jitter=True)
def switch_back(self, deployment_id: int) -> None:
    """Point a blue-green deployment's Service back at the old colour."""
    row = _row(deployment_id)
    if row is not None:
        BlueGreen().switch_back(row)


@shared_task(name=dispatch.TIDY, ignore_result=True)
def tidy_strategies() -> None:
    """Beat: scale old colours to zero once their switch-back window closes, and remove the canary of
    any canary that ended without succeeding (cancelled while nobody was looking, for instance)."""
    for pk in Deployment.objects.filter(strategy=Strategy.BLUE_GREEN, switch_back_until__lt=timezone.now()) \
            .values_list("pk", flat=True):
        colour_retire(pk)
    ended = (Deployment.objects.filter(strategy=Strategy.CANARY, state__in=(State.FAILED, State.CANCELLED,
                                                                           State.ROLLED_BACK), step__gt=0)
             .exclude(events__key=REMOVED))
    for row in ended.select_related("tenant", "application", "release__application", "environment__tenant"):
        Canary().cancel(row)


def colour_retire(deployment_id: int) -> None:
    """Scale the colour no longer serving to zero and close the switch-back window, once."""
    row = _row(deployment_id)
    if row is not None and row.switch_back_until is not None:
        BlueGreen().retire(row)
        logger.info("old colour retired", deployment=deployment_id)
