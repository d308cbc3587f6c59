"""Rotation with the application running: the new credential reaches the Secret first, then the running
deployment is restarted (through the deployments' restart, a real worker and the sandbox cluster), so
every pod is replaced by one started after the Secret held the new credential; the old credential
keeps working through the overlap and is refused once retired."""

import base64
from datetime import UTC, datetime

import psycopg
import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.deployments.choices import State
from apps.marketplace import services
from apps.marketplace.models import ServiceBinding
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

from .conftest import provision

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kube(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def pods_of(kube, name="web", namespace="acme--dev"):
    pods, _ = kube.list("v1", "Pod", namespace, label_selector=f"paas.dev/application={name}")
    return {pod["metadata"]["name"]: pod for pod in pods if not pod["metadata"].get("deletionTimestamp")}


def ready(pod) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def secret_url(kube, name="web-addons", namespace="acme--dev"):
    secret = kube.get("v1", "Secret", name, namespace)
    return base64.b64decode(secret["data"]["DATABASE_URL"]).decode()


def test_rotation_restarts_the_running_pods_onto_the_new_secret(world, api, kube, postgres):
    app = make_app(world.acme, "web")
    instance = provision(world, postgres)
    made = api.as_user(world.user("owner")).post(
        reverse("servicebinding-list"), {"instance": instance.pk, "application": "web"}, format="json"
    )
    assert made.status_code == 201, made.content
    old = made.json()["credentials"]["DATABASE_URL"]

    deployment = finished(deploy(api, world.user("owner"), make_release(app, replicas=2)).json()["id"])
    assert deployment.state == State.SUCCEEDED, deployment.reason
    before = wait_for(lambda: (pods := pods_of(kube)) and len(pods) == 2 and all(map(ready, pods.values())) and pods)
    for pod in before.values():  # the pods take their variables from the add-on Secret
        assert {"secretRef": {"name": "web-addons"}} in pod["spec"]["containers"][0]["envFrom"]

    api.as_user(world.user("owner"))
    asked_at = datetime.now(UTC).replace(microsecond=0)
    rotated = api.post(reverse("servicebinding-rotate", args=[made.json()["id"]]))
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["credentials"]["DATABASE_URL"]
    assert secret_url(kube) == new != old

    template = kube.get("apps/v1", "Deployment", "web", "acme--dev")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    restart = AuditEvent.objects.get(action="deployment.restart", object_id=str(deployment.pk))
    assert restart.actor == world.user("owner")  # the person who rotated, through the deployments' own restart

    # Every pod is replaced, one by one, by a pod made after the Secret took the new credential: a
    # container reads envFrom when it starts, so these run with the new DATABASE_URL.
    after = wait_for(
        lambda: (
            (pods := pods_of(kube))
            and len(pods) == 2
            and not pods.keys() & before.keys()
            and all(map(ready, pods.values()))
            and pods
        ),
        timeout=60,
    )
    for pod in after.values():
        assert (
            datetime.strptime(pod["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            >= asked_at
        )
        assert {"secretRef": {"name": "web-addons"}} in pod["spec"]["containers"][0]["envFrom"]

    # The overlap: both credentials work until the old one is retired, then only the new one does.
    for credential in (old, new):
        psycopg.connect(credential).close()
    binding = ServiceBinding.objects.get(pk=made.json()["id"])
    services.binding_retire_credential(binding_id=binding.pk, username=binding.retiring_username)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(old)
    psycopg.connect(new).close()
    assert pods_of(kube).keys() == after.keys()  # retiring the old credential restarts nothing more
