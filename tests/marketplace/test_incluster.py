"""In-cluster add-ons on the sandbox cluster: an instance is a Secret, a headless Service and a
StatefulSet in the environment's namespace, ready when the StatefulSet's pod is (read from the
cluster), bound through the application's Secret, and removed with its objects."""

import base64

import pytest

from apps.clusters.services import kube_of
from apps.cmdb import keys
from apps.cmdb.models import ConfigurationItem
from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.marketplace.models import InstanceState, ServiceInstance
from apps.tenants.principals import as_principal
from tests.conftest import wait_for

from .conftest import bind, provision, publish
from .test_postgres import secret_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_cluster(world):
    return publish(
        world,
        server="in-cluster-redis",
        kind="incluster",
        admin_url="incluster://redis",
        slug="redis-own",
        name="Own Redis",
        plans=[
            {"slug": "isolated", "name": "Isolated", "limits": {"memory": "128Mi", "storage": 256}},
            {"slug": "broken", "name": "Broken", "limits": {"image": "registry.example/redis:pull-error"}},
        ],
    )


def objects(environment, name):
    """The instance's objects as the cluster has them (None where missing), and its pod."""
    with kube_of(environment) as kube:
        found = {
            kind: kube.get(version, kind, name, environment.namespace)
            for version, kind in (("v1", "Secret"), ("v1", "Service"), ("apps/v1", "StatefulSet"))
        }
        found["Pod"] = kube.get("v1", "Pod", f"{name}-0", environment.namespace)
    return found


def ready_when_the_pod_is(instance):
    def settled():
        services.instance_poll_run(instance_id=instance.pk)  # what the poll task runs every 2 s
        return ServiceInstance.objects.get(pk=instance.pk).state == InstanceState.READY

    wait_for(settled, timeout=20, interval=0.3)
    return ServiceInstance.objects.get(pk=instance.pk)


def test_an_instance_is_a_statefulset_in_the_namespace_ready_with_its_pod(world, cluster, in_cluster):
    instance = provision(world, in_cluster)
    assert instance.state == InstanceState.PROVISIONING
    name = instance.provider_ref
    made = objects(instance.environment, name)
    sts = made["StatefulSet"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "redis:7-alpine" and container["resources"]["limits"]["memory"] == "128Mi"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "256Mi"
    assert made["Service"]["spec"]["clusterIP"] == "None"
    password = base64.b64decode(made["Secret"]["data"]["password"]).decode()

    instance = ready_when_the_pod_is(instance)
    assert objects(instance.environment, name)["Pod"]["status"]["phase"] == "Running"
    services.instance_provision_run(instance_id=instance.pk)  # a second run changes nothing
    again = objects(instance.environment, name)["Secret"]
    assert base64.b64decode(again["data"]["password"]).decode() == password

    item = ConfigurationItem.objects.get(key=keys.addon_key(instance.uid))
    assert item.ci_type.slug == "cache"  # what its template runs

    binding, variables = bind(world, instance, "web")
    host = f"{name}.{instance.environment.namespace}.svc"
    assert variables == {"REDIS_URL": f"redis://:{password}@{host}:6379/0"}
    assert secret_data(instance.environment, "web-addons") == variables
    with pytest.raises(ApplicationError) as refused:
        services.binding_rotate(actor=as_principal(world.user("developer")), binding=binding)
    assert refused.value.status == 409 and "one password" in refused.value.message

    services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)
    assert secret_data(instance.environment, "web-addons") is None
    services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    assert not ServiceInstance.objects.filter(pk=instance.pk).exists()
    wait_for(lambda: not any(objects(instance.environment, name).values()))


def test_an_instance_whose_pod_cannot_start_says_why_and_fails_at_the_deadline(world, cluster, in_cluster):
    instance = provision(world, in_cluster, plan=in_cluster.plans.get(slug="broken"))

    def waiting_on_the_image():
        services.instance_poll_run(instance_id=instance.pk)
        return "ErrImagePull" in (last := ServiceInstance.objects.get(pk=instance.pk).last_operation) or (
            "ImagePullBackOff" in last
        )

    wait_for(waiting_on_the_image, timeout=20, interval=0.3)
    assert ServiceInstance.objects.get(pk=instance.pk).state == InstanceState.PROVISIONING
    ServiceInstance.objects.filter(pk=instance.pk).update(created_at=instance.created_at - services.PROVISION_DEADLINE)
    services.instance_poll_run(instance_id=instance.pk)
    failed = ServiceInstance.objects.get(pk=instance.pk)
    assert failed.state == InstanceState.FAILED and "did not finish" in failed.last_operation


def test_a_template_that_does_not_exist_is_refused(world):
    with pytest.raises(ApplicationError) as refused:
        services.server_register(
            operator=world.operator_principal, name="x", kind="incluster", admin_url="incluster://mongo"
        )
    assert refused.value.field == "admin_url" and "redis" in refused.value.message
