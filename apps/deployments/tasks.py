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
from .choices import State, Strategy
from .models import LEASE_SECONDS, Deployment
from .services import ILLEGAL_TRANSITION, deployment_fail, outage_begin, outage_seconds
from .strategies.blue_green import BlueGreen
from .strategies.canary import REMOVED, Canary

logger = structlog.get_logger(__name__)

OBSERVE_EVERY_SECONDS = 1.0


def _retry_or_fail(task, deployment_id: int, attempt: int, error: KubeError) -> None:
    """A refusal (4xx) fails the deployment at once with the cluster's words. A cluster that does not
    answer (5xx, timeout, connection refused) is waited for: the outage is recorded once, the step retries
    with jittered backoff, and only an outage longer than the progress deadline fails the deployment."""
    logger.warning("deployment step failed", deployment=deployment_id, error=error.message, status=error.status)
    row = pipeline.current(deployment_id, attempt)
    if row is None:
        return
    if not (error.retryable or error.status is None):
        deployment_fail(deployment=row, reason=f"The cluster refused the deployment: {error.message}")
        return
    waiting = outage_begin(row, cause=_cause(error), status=error.status)
    waited, deadline = outage_seconds(waiting), row.progress_deadline_seconds
    if waited >= deadline:
        deployment_fail(
            deployment=row,
            reason=f"The cluster {cluster_of(row.environment).name} was unreachable for "
            f"{waited:.0f} s, longer than the progress deadline ({deadline} s): "
            f"{waiting.data['cause'].rstrip('.')}.",
        )
        return
    pipeline.renew_lease(row)
    raise task.retry(countdown=_backoff(task.request.retries, deadline - waited))


def _backoff(retries: int, remaining: float) -> float:
    """Jittered exponential backoff, capped by the setting, by the lease (so the reconciler does not take
    a waiting row over) and by the time left before the deadline (so the last try is near it)."""
    ceiling = min(settings.DEPLOYMENT_RETRY_MAX_SECONDS, 2.0 ** (retries + 1), LEASE_SECONDS / 2)
    return max(0.2, min(random.uniform(ceiling / 2, ceiling), remaining + 0.1))


def _cause(error: KubeError) -> str:
    """What the cluster did instead of answering: its status and words, or why nothing answered at all."""
    if error.status is None:
        return f"no answer ({explain_failure(error).rstrip('.')})"
    return f"{error.status} ({error.message})"


def _stop_if_finished_elsewhere(deployment_id: int, error: ApplicationError) -> None:
    """A cancel or rollback that moved the row on while a step ran makes the step's own move illegal:
    the step stops there (a cancelling row is looked at again, see _step). Any other refusal is a bug
    and is raised."""
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
        observe = False
    # A cancel that moved the row on while the step ran: the next looks bring the earlier release back.
    if observe or pipeline.cancelling(deployment_id, attempt):
        observe_deployment.apply_async((deployment_id, attempt), countdown=OBSERVE_EVERY_SECONDS)


# No retry count: a step retries while the cluster is down, bounded by the progress deadline (_retry_or_fail).
@shared_task(name=dispatch.RUN, bind=True, max_retries=None, ignore_result=True)
def run_deployment(self, deployment_id: int, attempt: int) -> None:
    """Apply the release's manifests, then hand over to observe_deployment."""
    _step(self, pipeline.apply_step, deployment_id, attempt)


@shared_task(name=dispatch.OBSERVE, bind=True, max_retries=None, ignore_result=True)
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
    return (
        Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
        .filter(pk=deployment_id)
        .first()
    )


@shared_task(
    name=dispatch.SWITCH_BACK,
    bind=True,
    max_retries=6,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
)
def switch_back(self, deployment_id: int) -> None:
    """Point a blue-green deployment's Service back at the old colour."""
    row = _row(deployment_id)
    if row is not None:
        BlueGreen().switch_back(row)


@shared_task(name=dispatch.TIDY, ignore_result=True)
def tidy_strategies() -> None:
    """Beat: scale old colours to zero once their switch-back window closes, and remove the canary of
    any canary that ended without succeeding (cancelled while nobody was looking, for instance)."""
    for pk in Deployment.objects.filter(strategy=Strategy.BLUE_GREEN, switch_back_until__lt=timezone.now()).values_list(
        "pk", flat=True
    ):
        colour_retire(pk)
    ended = Deployment.objects.filter(
        strategy=Strategy.CANARY, state__in=(State.FAILED, State.CANCELLED, State.ROLLED_BACK), step__gt=0
    ).exclude(events__key=REMOVED)
    for row in ended.select_related("tenant", "application", "release__application", "environment__tenant"):
        Canary().cancel(row)


def colour_retire(deployment_id: int) -> None:
    """Scale the colour no longer serving to zero and close the switch-back window, once."""
    row = _row(deployment_id)
    if row is not None and row.switch_back_until is not None:
        BlueGreen().retire(row)
        logger.info("old colour retired", deployment=deployment_id)
