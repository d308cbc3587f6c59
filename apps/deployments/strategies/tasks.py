"""Strategy tasks: the switch back to the old colour, and the tidy-up beat runs (ids in, steps called)."""

import structlog
from celery import shared_task
from django.utils import timezone

from apps.clusters.services import kube_of

from ..choices import State, Strategy
from ..models import Deployment
from ..selectors import previous_colour_deployment
from ..services import steps
from . import pipeline
from .manifests import other_colour, render_colour

logger = structlog.get_logger(__name__)


def _row(deployment_id: int) -> Deployment | None:
    return (Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
            .filter(pk=deployment_id).first())


@shared_task(bind=True, max_retries=6, ignore_result=True, autoretry_for=(Exception,), retry_backoff=True,
             retry_jitter=True)
def switch_back(self, deployment_id: int) -> None:
    """Point the Service back at the old colour, with the old release's own traffic objects."""
    row = _row(deployment_id)
    if row is None or not row.switched_back_at or row.events.filter(key="switch-back:done").exists():
        return
    source = previous_colour_deployment(row)
    old = other_colour(row.colour)
    with kube_of(row.environment) as kube:
        kube.apply(pipeline.traffic_manifests(row, source, old))
    steps.step_record(row, key="switch-back:done", message=f"Service switched back to {old} "
                                                           f"(release #{source.release.number})")


@shared_task(ignore_result=True)
def tidy_strategies() -> None:
    """Beat: scale old colours to zero once their switch-back window closes, and remove the canary of
    any canary that ended without succeeding (cancelled while nobody was looking, for instance)."""
    for pk in Deployment.objects.filter(strategy=Strategy.BLUE_GREEN, switch_back_until__lt=timezone.now()) \
            .values_list("pk", flat=True):
        colour_retire(pk)
    ended = (Deployment.objects.filter(strategy=Strategy.CANARY, state__in=(State.FAILED, State.CANCELLED,
                                                                           State.ROLLED_BACK), step__gt=0)
             .exclude(events__key=pipeline.REMOVED))
    for row in ended.select_related("tenant", "application", "release__application", "environment__tenant"):
        pipeline.canary_remove(row)


def colour_retire(deployment_id: int) -> None:
    """Scale the colour no longer serving to zero and close the switch-back window, once."""
    row = _row(deployment_id)
    if row is None or row.switch_back_until is None:
        return
    idle = row if row.switched_back_at else previous_colour_deployment(row)
    colour = row.colour if row.switched_back_at else other_colour(row.colour)
    if idle is not None:
        manifests = [m for m in render_colour(idle.release, row.environment, idle.pk, colour=colour, idle=True,
                                              progress_deadline_seconds=idle.progress_deadline_seconds)
                     if m["kind"] == "Deployment"]
        with kube_of(row.environment) as kube:
            kube.apply(manifests)
    steps.step_record(row, key="colour:retired", switch_back_until=None,
                      message=f"{colour.capitalize()} scaled to zero; switching back is no longer possible"
                      if idle else "The switch-back window closed")
    logger.info("old colour retired", deployment=deployment_id)
