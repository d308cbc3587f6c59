"""Workload tasks: a refresh from the cluster after a deployment changes state."""

from celery import shared_task

from apps.catalog.models import Application
from apps.tenants.models import Environment

from .services import workload_refresh

REFRESH = "apps.workloads.tasks.refresh_workload"


@shared_task(name=REFRESH, ignore_result=True)
def refresh_workload(application_id: int, environment_id: int) -> None:
    application = Application.objects.filter(pk=application_id).first()
    environment = Environment.objects.filter(pk=environment_id).first()
    if application is not None and environment is not None:
        workload_refresh(application=application, environment=environment)
