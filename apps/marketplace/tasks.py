"""Thin tasks: an instance id in, a service called."""

from celery import shared_task

from . import services
from .providers import ProviderError


@shared_task(name=services.PROVISION_TASK, acks_late=True)
def provision_instance(instance_id: int) -> None:
    services.instance_provision_run(instance_id=instance_id)


@shared_task(name=services.DEPROVISION_TASK, acks_late=True)
def deprovision_instance(instance_id: int) -> None:
    services.instance_deprovision_run(instance_id=instance_id)


@shared_task(name=services.POLL_TASK, acks_late=True)
def poll_instance(instance_id: int) -> None:
    services.instance_poll_run(instance_id=instance_id)


@shared_task(name=services.BINDING_POLL_TASK, acks_late=True)
def poll_binding(binding_id: int) -> None:
    services.binding_poll_run(binding_id=binding_id)


@shared_task(
    name=services.RETIRE_TASK, acks_late=True, autoretry_for=(ProviderError,), retry_backoff=30, max_retries=10
)
def retire_credential(binding_id: int, username: str) -> None:
    services.binding_retire_credential(binding_id=binding_id, username=username)


@shared_task(name="apps.marketplace.tasks.sweep_instances")
def sweep_instances() -> int:
    """Instances and bindings whose work stopped moving (a lost message, a worker or request that died)."""
    return services.instances_sweep() + services.bindings_sweep()


@shared_task(name="apps.marketplace.tasks.sample_usage")
def sample_usage() -> int:
    return services.instances_sample_usage()
