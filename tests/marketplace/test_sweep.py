"""The row is the truth: an instance whose provisioning nudge was lost is found by the sweeper on beat
and provisioned by a real worker."""

from datetime import timedelta

from django.utils import timezone

from apps.marketplace import services
from apps.marketplace.models import InstanceState, ServiceInstance
from tests.conftest import wait_for


def test_a_lost_nudge_is_sent_again_and_the_worker_provisions(world, postgres, celery_worker):
    dev = world.acme.environments.get(name="dev")
    instance = ServiceInstance.objects.create(
        tenant=world.acme, environment=dev, offering=postgres, plan=postgres.plans.first(), name="lost"
    )
    assert services.instances_sweep() == 0  # just made: not stale yet
    ServiceInstance.objects.filter(pk=instance.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert services.instances_sweep() == 1
    wait_for(lambda: ServiceInstance.objects.get(pk=instance.pk).state == InstanceState.READY, timeout=30)
