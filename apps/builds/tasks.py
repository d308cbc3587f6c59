"""Celery tasks of builds, on their own queue (settings.BUILD_QUEUE): thin, ids in, the pipeline called."""

from celery import shared_task
from django.conf import settings

from .pipeline import WAIT, build_run

# A build that must wait for another of its tenant's builds asks again after this many seconds.
WAIT_SECONDS = 3


@shared_task(
    name="apps.builds.tasks.run_build",
    # The pipeline stops the engine at BUILD_TIME_LIMIT_SECONDS itself; these only catch a stuck worker.
    soft_time_limit=settings.BUILD_TIME_LIMIT_SECONDS + 120,
    time_limit=settings.BUILD_TIME_LIMIT_SECONDS + 180,
)
def run_build(build_id: int) -> None:
    if build_run(build_id) == WAIT:
        run_build.apply_async((build_id,), countdown=WAIT_SECONDS)
