"""Deployment tasks: thin, ids in, a pipeline step or a strategy called. Safe to run twice (see pipeline.py).

Each task is registered under its name in dispatch.py, the name the services send it by."""

import random

import structlog
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.clusters.kube import KubeError
from apps.clusters.services import cluster_of
from apps.core.errors import ApplicationError

from . import dispatch, fairness, pipeline
from .choices import State, Strategy
from .models import LEASE_SECONDS, Deployment
from .services import (
    ILLEGAL_TRANSITION,
    cluster_down,
    deployment_fail,
    deployment_note,
    operation_carry_out,
    operation_failed,
    outage_begin,
    outage_cause,
    outage_end,
    outage_seconds,
)
from .strategies.blue_green import BlueGreen
from .strategies.canary import REMOVED, Canary

logger = structlog.get_logger(__name__)


def _wait_out(task, row: Deployment, error: KubeError, *, refused: str, give_up) -> None:
    """The one way a task meets a cluster error. A refusal (4xx) gives up at once with the cluster's
    words. A cluster that does not answer (5xx, timeout, connection refused) is waited for: the outage is
    recorded once on the deployment ("Waiting for the cluster"), the task retries with jittered backoff,
    and only an outage longer than the deployment's progress deadline gives up, saying it was unreachable."""
    logger.warning("cluster call failed", deployment=row.pk, error=error.message, status=error.status)
    if not cluster_down(error):
        outage_end(row)  # it answered, if only to refuse
        give_up(f"{refused}: {error.message}")
        return
    waiting = outage_begin(row, cause=outage_cause(error), status=error.status)
    waited, deadline = outage_seconds(waiting), row.progress_deadline_seconds
    if waited >= deadline:
        give_up(
            f"The cluster {cluster_of(row.environment).name} was unreachable for "
            f"{waited:.0f} s, longer than the progress deadline ({deadline} s): "
            f"{waiting.data['cause'].rstrip('.')}."
        )
        return
    raise task.retry(countdown=_backoff(task.request.retries, deadline - waited))


def _retry_or_fail(task, deployment_id: int, attempt: int, error: KubeError) -> None:
    """A pipeline step's cluster error: waited out while the cluster is down, the deployment failed otherwise."""
    row = pipeline.current(deployment_id, attempt)
    if row is None:
        return
    pipeline.renew_lease(row)  # so the reconciler does not take a waiting row over
    _wait_out(
        task,
        row,
        error,
        refused="The cluster refused the deployment",
        give_up=lambda reason: deployment_fail(deployment=row, reason=reason),
    )


def _backoff(retries: int, remaining: float) -> float:
    """Jittered exponential backoff, capped by the setting, by the lease (so the reconciler does not take
    a waiting row over) and by the time left before the deadline (so the last try is near it)."""
    ceiling = min(settings.DEPLOYMENT_RETRY_MAX_SECONDS, 2.0 ** (retries + 1), LEASE_SECONDS / 2)
    return max(0.2, min(random.uniform(ceiling / 2, ceiling), remaining + 0.1))


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
        observe_deployment.apply_async((deployment_id, attempt), countdown=settings.DEPLOYMENT_OBSERVE_SECONDS)


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


@shared_task(name=dispatch.ADMIT, ignore_result=True)
def admit_waiting() -> None:
    """Beat, every few seconds: give waiting deployments the turns a lost nudge left unused."""
    fairness.admit_waiting()


# --- Strategies --------------------------------------------------------------------------------


def _row(deployment_id: int) -> Deployment | None:
    return (
        Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
        .filter(pk=deployment_id)
        .first()
    )


@shared_task(name=dispatch.SWITCH_BACK, bind=True, max_retries=None, ignore_result=True)
def switch_back(self, deployment_id: int) -> None:
    """Point a blue-green deployment's Service back at the old colour, waiting out a cluster outage."""
    row = _row(deployment_id)
    if row is None:
        return
    try:
        BlueGreen().switch_back(row)
    except KubeError as error:
        _wait_out(
            self,
            row,
            error,
            refused="The cluster refused the switch back",
            give_up=lambda reason: deployment_note(
                deployment=row, key="switch-back:failed", message=f"Switching back failed: {reason}"
            ),
        )


@shared_task(name=dispatch.OPERATION, bind=True, max_retries=None, ignore_result=True)
def run_operation(self, deployment_id: int, operation: str, params: dict) -> None:
    """A day-2 operation (scale, restart, remove) the cluster did not answer when it was asked: made once the
    cluster answers again, or given up after the deployment's progress deadline."""
    row = _row(deployment_id)
    if row is None:
        return
    try:
        operation_carry_out(deployment=row, operation=operation, params=params)
    except KubeError as error:
        _wait_out(
            self,
            row,
            error,
            refused=f"The cluster refused the {operation}",
            give_up=lambda reason: operation_failed(deployment=row, operation=operation, reason=reason),
        )
    except ApplicationError as error:  # what it acts on went away meanwhile
        operation_failed(deployment=row, operation=operation, reason=error.message)


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
