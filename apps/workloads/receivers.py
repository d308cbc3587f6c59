"""A deployment that changes state changes what runs: read the workload again once it committed."""

from celery import current_app
from django.dispatch import receiver

from apps.core.events import platform_event


@receiver(platform_event, dispatch_uid="workloads.platform_event")
def deployment_changed(sender, tenant_id: int, event: str, data: dict, **kwargs) -> None:
    if event.startswith("deployment.") and data.get("application") and data.get("environment"):
        current_app.tasks["apps.workloads.tasks.refresh_workload"].delay(data["application"], data["environment"])
