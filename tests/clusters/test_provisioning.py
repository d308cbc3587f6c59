"""Environments get their namespaces on the cluster through a real Celery worker."""

import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.models import Placement
from apps.clusters.services import cluster_register
from apps.tenants.principals import as_principal
from apps.tenants.services import environment_create, quota_set
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_namespaces_follow_environments_and_quotas(world, sandbox, celery_worker):
    kube = KubeClient(sandbox.api_client())
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)

    # Environments that existed before any cluster are provisioned once one is registered.
    wait_for(lambda: Placement.objects.filter(provisioned_at__isnull=False).count() == 6, timeout=30)
    namespace = kube.get("v1", "Namespace", "acme--prod")
    assert namespace["metadata"]["labels"]["paas.dev/tenant"] == "acme"
    assert kube.get("networking.k8s.io/v1", "NetworkPolicy", "default-deny", "acme--prod")
    assert kube.get("v1", "LimitRange", "container-defaults", "acme--prod")
    assert kube.get("v1", "ResourceQuota", "tenant-quota", "acme--prod") is None  # no quota set yet

    # A new environment is provisioned after its transaction commits.
    environment_create(actor=as_principal(world.user("admin")), tenant=world.acme, name="qa")
    wait_for(lambda: kube.get("v1", "Namespace", "acme--qa"), timeout=30)

    # An environment quota becomes the namespace's ResourceQuota.
    prod = world.acme.environments.get(name="prod")
    quota_set(operator=world.operator_principal, tenant=world.acme, environment=prod, resource="pods", limit=12)
    quota = wait_for(lambda: kube.get("v1", "ResourceQuota", "tenant-quota", "acme--prod"), timeout=30)
    assert quota["spec"]["hard"] == {"pods": "12"}


def test_an_unreachable_cluster_is_recorded_not_lost(world, celery_worker):
    from tests.conftest import free_port

    cluster_register(
        operator=world.operator_principal, name="down", auth_method="sandbox", api_url=f"http://127.0.0.1:{free_port()}"
    )
    placement = wait_for(lambda: Placement.objects.exclude(last_error="").first(), timeout=60)
    assert placement.provisioned_at is None
    assert placement.last_error
