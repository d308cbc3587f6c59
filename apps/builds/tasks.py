"""Celery tasks of builds, on their own queue (settings.BUILD_QUEUE): thin, ids in, the pipeline called."""

from celery import shared_task
from django.conf import settings

from .pipeline import build_run, builds_sweep
from .retention import images_prune


@shared_task(
    name="apps.builds.tasks.run_build",
    # The pipeline stops the engine at BUILD_TIME_LIMIT_SECONDS itself; these only catch a stuck worker.
    soft_time_limit=settings.BUILD_TIME_LIMIT_SECONDS + 120,
    time_limit=settings.BUILD_TIME_LIMIT_SECONDS + 180,
)
def run_build(build_id: int) -> None:
    # A build that must wait for its tenant's others stays queued: the one that ends nudges the next.
    build_run(build_id)


@shared_task(name="apps.builds.tasks.sweep_builds")
def sweep_builds() -> None:
    """Beat: nudge queued builds again (a lost message, a tenant at its limit) and fail abandoned runs."""
    for build_id in builds_sweep():
        run_build.delay(build_id)


@shared_task(name="apps.builds.tasks.prune_images", soft_time_limit=1800, time_limit=1900)
def prune_images() -> None:
    """Beat: keep each repository's newest tags, delete the rest nothing uses, collect the garbage."""
    images_prune()
