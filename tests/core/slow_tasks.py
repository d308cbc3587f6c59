"""Tasks the broker-outage tests run in a real worker (`celery worker -I tests.core.slow_tasks`)."""

import time
from pathlib import Path

from celery import shared_task


@shared_task(acks_late=True)
def sleep_then_touch(seconds: float, path: str) -> None:
    time.sleep(seconds)
    Path(path).touch()
