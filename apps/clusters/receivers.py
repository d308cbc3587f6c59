"""Reactions to tenant changes: namespaces follow environments and quotas, after commit."""

from django.db import transaction
from django.dispatch import receiver

from apps.tenants.models import Environment
from apps.tenants.signals import environment_created, quota_changed

from .models import Cluster


def _provision_later(environment_ids: list[int]) -> None:
    from .tasks import provision_environment

    if not Cluster.objects.exists():
        return  # nowhere to provision yet; registering a cluster provisions what is waiting
    for environment_id in environment_ids:
        transaction.on_commit(lambda pk=environment_id: provision_environment.delay(pk))


@receiver(environment_created)
def _on_environment_created(sender, environment, **kwargs):
    _provision_later([environment.pk])


@receiver(quota_changed)
def _on_quota_changed(sender, tenant, environment=None, **kwargs):
    environments = [environment] if environment else Environment.objects.filter(tenant=tenant)
    _provision_later([env.pk for env in environments])
