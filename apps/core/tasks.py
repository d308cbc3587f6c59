"""Periodic tasks of the core app."""

import socket

import structlog
from celery import shared_task

from .models import Heartbeat

logger = structlog.get_logger(__name__)

WORKER_HEARTBEAT = "worker"


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Record that a worker picked up a task from beat; the readiness page shows its age."""
    Heartbeat.record(WORKER_HEARTBEAT, worker=socket.gethostname())
    logger.info("heartbeat")
