"""A binding reaches the application's next deployment: the pods take the `<app>-addons` Secret through
envFrom, and a checksum of the bindings in the pod template rolls them when a binding comes or goes."""

import pytest

from apps.deployments.manifests import render
from apps.marketplace import services
from apps.tenants.principals import as_principal
from tests.deployments.conftest import make_release

from .conftest import bind, provision

pytestmark = pytest.mark.django_db


def pod_template(release, environment):
    return next(obj for obj in render(release, environment) if obj["kind"] == "Deployment")["spec"]["template"]


def test_the_next_deployment_gets_the_bindings_variables_and_loses_them_after_unbind(world, cluster, postgres):
    instance = provision(world, postgres)
    environment = instance.environment
    binding, _ = bind(world, instance, "web")
    release = make_release(binding.application)
    template = pod_template(release, environment)
    assert {"secretRef": {"name": "web-addons"}} in template["spec"]["containers"][0]["envFrom"]
    first = template["metadata"]["annotations"]["paas.dev/addons-checksum"]

    second, _ = bind(world, provision(world, postgres, name="reports"), "web")
    assert pod_template(release, environment)["metadata"]["annotations"]["paas.dev/addons-checksum"] != first
    # Other environments of the application are untouched.
    staging = world.acme.environments.get(name="staging")
    assert "paas.dev/addons-checksum" not in pod_template(release, staging)["metadata"]["annotations"]

    for row in (binding, second):
        services.binding_delete(actor=as_principal(world.user("developer")), binding=row)
    template = pod_template(release, environment)
    assert template["spec"]["containers"][0]["envFrom"] == [{"configMapRef": {"name": "web-env"}}]
    assert "paas.dev/addons-checksum" not in template["metadata"]["annotations"]
