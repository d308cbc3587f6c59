"""Cluster tasks: thin, ids in, a service called."""

import structlog
from celery import shared_task

from apps.core.errors import ApplicationError
from apps.tenants.models import Environment

from .kube import KubeError
from .models import Cluster
from .services import cluster_check, environment_provision

logger = structlog.get_logger(__name__)


@shared_task(bind=True, max_retries=8, ignore_result=True)
def provision_environment(self, environment_id: int) -> None:
    """Apply an environment's namespace objects; transient cluster failures retry with backoff."""
    environment = Environment.objects.select_related("tenant").filter(pk=environment_id).first()
    if environment is None:
        return
    try:
        environment_provision(environment=environment)
    except ApplicationError as refusal:  # a namespace that is not ours: retrying will not change that
        logger.warning("provision refused", environment=environment.namespace, reason=refusal.code)
    except KubeError as error:
        logger.warning("provision failed", environment=environment.namespace, error=error.message)
        if error.retryable or error.status is None:
            raise self.retry(countdown=min(600, 5 * 2**self.request.retries)) from error


@shared_task(ignore_result=True)
def check_clusters() -> None:
    """Check every registered cluster (beat, CLUSTER_CHECK_EVERY), so the operator console's health of
    each is at most that old rather than as old as someone's last click on Check."""
    for cluster in Cluster.objects.order_by("pk"):
        result = cluster_check(cluster=cluster)
        if not result["ok"]:
            logger.warning("cluster check failed", cluster=cluster.name, error=result.get("error"))
