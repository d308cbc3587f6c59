"""CMDB tasks: thin, ids in, discovery called."""

import structlog
from celery import shared_task

from apps.clusters.models import Cluster

from .discovery import discover

logger = structlog.get_logger(__name__)


@shared_task(acks_late=True)
def discover_cluster(cluster_id: int) -> dict:
    """One discovery pass over one cluster; a cluster removed meanwhile is nothing to do."""
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return {}
    run = discover(cluster)
    if run.error:
        logger.warning("discovery failed", cluster=cluster.name, error=run.error)
    return run.counts


@shared_task
def discover_all() -> int:
    """Beat: queue a discovery pass for every registered cluster."""
    ids = list(Cluster.objects.values_list("pk", flat=True))
    for cluster_id in ids:
        discover_cluster.delay(cluster_id)
    return len(ids)


@shared_task(acks_late=True)
def import_job_run_task(job_id: int) -> str:
    """Run one background CMDB import; a job already ended is nothing to do (safe to run twice)."""
    from .services.import_jobs import import_job_run

    job = import_job_run(job_id=job_id)
    return job.state if job is not None else "missing"
