"""Cancel tells the truth: a deployment cancelled mid-rollout is `cancelling` while the cluster goes back
to the release that was live before, and `cancelled` only once the cluster runs that release again
(or, when nothing was live, once what it applied is gone). Read back with the official client."""

import pytest
from django.test import Client
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from apps.audit.models import AuditEvent
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.services import CANCELLING
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import URL, assert_gap_free, deploy, finished, states

pytestmark = pytest.mark.django_db(transaction=True)
NAMESPACE = "acme--dev"
SLOW = "registry.example/web:v2-slow"


@pytest.fixture
def cluster(world, celery_worker):
    """Pods ready after 1 s, slow ones after 10 s: a wide window to cancel in, even on a busy machine."""
    from sandbox import SandboxCluster

    with SandboxCluster(ready_after=1.0) as sandbox:
        registered(world, sandbox)
        yield sandbox


def _pods(sandbox, selector):
    return k8s.CoreV1Api(sandbox.api_client()).list_namespaced_pod(NAMESPACE, label_selector=selector).items


def _gone(read) -> bool:
    try:
        read()
    except ApiException as error:
        return error.status == 404
    return False


def _rolling_out(sandbox, pk, release):
    """The row is progressing and the cluster has started pods of `release` that are not ready yet."""
    wait_for(lambda: Deployment.objects.filter(pk=pk, state=State.PROGRESSING).exists(), timeout=30)
    wait_for(lambda: _pods(sandbox, f"paas.dev/application=web,paas.dev/release={release.number}"), timeout=30)


def _messages(deployment):
    return list(deployment.events.order_by("seq").values_list("message", flat=True))


def test_cancel_mid_rollout_puts_the_previous_release_back_in_full(world, api, cluster):
    app = make_app(world.acme)
    first = make_release(app, env={"GREETING": "one"})
    slow = make_release(app, image=SLOW, replicas=4, env={"GREETING": "two"})
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    pk = deploy(api, world.user("developer"), slow).json()["id"]
    _rolling_out(cluster, pk, slow)

    response = api.post(f"{URL}{pk}/cancel/", {"reason": "wrong build"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == State.CANCELLING, response.content
    assert api.post(f"{URL}{pk}/cancel/", {}, format="json").json()["code"] == "deployment_cancelling"
    row = finished(pk)

    assert row.state == State.CANCELLED, row.outcome
    assert states(row)[-2:] == [State.CANCELLING, State.CANCELLED]
    assert "Cancelling: re-applying release #1: wrong build" in _messages(row)
    assert row.outcome == "Release #1 is live again; cancelled"
    assert_gap_free(row)
    apps, core = k8s.AppsV1Api(cluster.api_client()), k8s.CoreV1Api(cluster.api_client())
    web = apps.read_namespaced_deployment("web", NAMESPACE)
    assert web.spec.template.spec.containers[0].image == first.image
    assert web.spec.replicas == first.replicas and web.status.ready_replicas == first.replicas
    assert web.status.replicas == first.replicas and web.status.updated_replicas == first.replicas
    assert core.read_namespaced_config_map("web-env", NAMESPACE).data == {"GREETING": "one"}
    assert _pods(cluster, f"paas.dev/application=web,paas.dev/release={slow.number}") == []
    assert len(_pods(cluster, "paas.dev/application=web,paas.dev/release=1")) == first.replicas
    # The earlier deployment is still what runs, as pages and the API say: a Scale acts on it.
    live = Deployment.objects.get(release=first)
    serving = api.get(f"{URL}{pk}/serving/").json()
    assert (serving["release_number"], serving["deployment"]) == (1, live.pk), serving
    page = Client()
    page.force_login(world.user("viewer"))
    assert "Release #1, 2 of 2 replicas ready" in page.get("/t/acme/apps/web/").content.decode()
    assert api.post(f"{URL}{live.pk}/scale/", {"replicas": 3}, format="json").status_code == 200
    assert apps.read_namespaced_deployment("web", NAMESPACE).spec.template.spec.containers[0].image == first.image
    actions = list(AuditEvent.objects.filter(object_id=str(pk)).values_list("action", "actor"))
    assert ("deployment.cancelling", world.user("developer").pk) in actions


def test_cancel_waits_out_an_unreachable_cluster_and_shows_cancelling(world, api, cluster):
    app = make_app(world.acme)
    first, slow = make_release(app), make_release(app, image=SLOW)
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    pk = deploy(api, world.user("developer"), slow).json()["id"]
    _rolling_out(cluster, pk, slow)

    cluster.inject_faults(error_rate=1.0)
    assert api.post(f"{URL}{pk}/cancel/", {}, format="json").json()["state"] == State.CANCELLING
    wait_for(lambda: Deployment.objects.get(pk=pk).events.filter(key__startswith="outage:").exists(), timeout=30)
    assert api.get(f"{URL}{pk}/").json()["state"] == State.CANCELLING
    page = Client()
    page.force_login(world.user("viewer"))
    html = page.get(f"/t/acme/deployments/{pk}/").content.decode()
    assert 'data-state="cancelling"' in html and ">Cancelling<" in html
    assert '"cancelling": "Cancelling"' in html  # the live script's labels
    assert Deployment.objects.get(pk=pk).state == State.CANCELLING  # never cancelled while nothing is seen

    cluster.clear_faults()
    row = finished(pk, timeout=60)
    assert row.state == State.CANCELLED, row.outcome
    assert any(message.startswith("The cluster answers again") for message in _messages(row))
    web = k8s.AppsV1Api(cluster.api_client()).read_namespaced_deployment("web", NAMESPACE)
    assert web.spec.template.spec.containers[0].image == first.image
    assert_gap_free(row)


def test_cancelling_a_first_deploy_removes_what_it_applied(world, api, cluster):
    slow = make_release(make_app(world.acme), image=SLOW)
    pk = deploy(api, world.user("developer"), slow).json()["id"]
    _rolling_out(cluster, pk, slow)

    assert api.post(f"{URL}{pk}/cancel/", {}, format="json").json()["state"] == State.CANCELLING
    row = finished(pk)

    assert row.state == State.CANCELLED, row.outcome
    assert row.outcome == "Nothing was live before release #1; what it applied is gone; cancelled"
    messages = _messages(row)
    assert {"Deleted Deployment/web", "Deleted Service/web", "Deleted ConfigMap/web-env"} <= set(messages)
    apps, core = k8s.AppsV1Api(cluster.api_client()), k8s.CoreV1Api(cluster.api_client())
    assert _gone(lambda: apps.read_namespaced_deployment("web", NAMESPACE))
    assert _gone(lambda: core.read_namespaced_service("web", NAMESPACE))
    assert _gone(lambda: core.read_namespaced_config_map("web-env", NAMESPACE))
    assert _pods(cluster, "paas.dev/application=web") == []
    assert_gap_free(row)


def test_cancel_removes_an_autoscaler_the_new_release_added(world, api, cluster):
    app = make_app(world.acme)
    first = make_release(app)
    slow = make_release(app, image=SLOW, autoscale_min=2, autoscale_max=4)
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    pk = deploy(api, world.user("developer"), slow).json()["id"]
    _rolling_out(cluster, pk, slow)
    autoscaling = k8s.AutoscalingV2Api(cluster.api_client())
    assert autoscaling.read_namespaced_horizontal_pod_autoscaler("web", NAMESPACE)

    api.post(f"{URL}{pk}/cancel/", {}, format="json")
    row = finished(pk)

    assert row.state == State.CANCELLED, row.outcome
    assert "Deleted HorizontalPodAutoscaler/web (release #2 added it)" in _messages(row)
    assert _gone(lambda: autoscaling.read_namespaced_horizontal_pod_autoscaler("web", NAMESPACE))
    web = k8s.AppsV1Api(cluster.api_client()).read_namespaced_deployment("web", NAMESPACE)
    assert web.spec.template.spec.containers[0].image == first.image and web.spec.replicas == first.replicas


def test_cancelling_a_blue_green_rollout_removes_the_new_colour(world, api, cluster):
    app = make_app(world.acme)
    blue, green = make_release(app), make_release(app, image=SLOW)
    first = finished(deploy(api, world.user("developer"), blue, strategy="blue_green").json()["id"])
    assert (first.state, first.colour) == (State.SUCCEEDED, "blue"), first.outcome
    pk = deploy(api, world.user("developer"), green, strategy="blue_green").json()["id"]
    _rolling_out(cluster, pk, green)

    api.post(f"{URL}{pk}/cancel/", {}, format="json")
    row = finished(pk)

    assert row.state == State.CANCELLED, row.outcome
    apps, core = k8s.AppsV1Api(cluster.api_client()), k8s.CoreV1Api(cluster.api_client())
    assert _gone(lambda: apps.read_namespaced_deployment("web-green", NAMESPACE))
    assert core.read_namespaced_service("web", NAMESPACE).spec.selector["paas.dev/colour"] == "blue"
    assert apps.read_namespaced_deployment("web-blue", NAMESPACE).status.ready_replicas == blue.replicas
    assert _pods(cluster, f"paas.dev/application=web,paas.dev/release={green.number}") == []


@pytest.mark.django_db
def test_a_cancelling_deployment_is_neither_cancelled_again_nor_rolled_back(world, api):
    release = make_release(make_app(world.acme))
    row = Deployment.objects.create(
        tenant=world.acme,
        application=release.application,
        release=release,
        environment=world.acme.environments.get(name="dev"),
        state=State.CANCELLING,
    )
    api.as_user(world.user("developer"))
    for action, body in (("cancel", {}), ("rollback", {"reason": "go back"})):
        response = api.post(f"{URL}{row.pk}/{action}/", body, format="json")
        assert response.status_code == 409 and response.json()["code"] == CANCELLING, response.content
    row.refresh_from_db()
    assert row.state == State.CANCELLING and row.last_seq == 0
