"""A deployment that ends changes what runs: read the workload again once it committed. States in
between are left to the lifecycle watcher, which sees the cluster change anyway; a refresh per step
would only keep the deployment worker busy mid-rollout."""

from celery import current_app
from django.dispatch import receiver

from apps.core.events import platform_event
from apps.deployments.choices import TERMINAL


@receiver(platform_event, dispatch_uid="workloads.platform_event")
def deployment_changed(sender, tenant_id: int, event: str, data: dict, **kwargs) -> None:
    if event.startswith("deployment.") and data.get("state") in TERMINAL and data.get("environment"):
        current_app.tasks["apps.workloads.tasks.refresh_workload"].delay(data["application"], data["environment"])
