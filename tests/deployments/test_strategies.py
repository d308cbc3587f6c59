"""Canary and blue-green rollouts through the real pipeline: the API, a Celery worker process and the
sandbox cluster over HTTP; and their manifests, schema-valid and deterministic."""

import json

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.strategies.manifests import render_canary, render_colour
from apps.deployments.tasks import tidy_strategies
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_manifests import K8S_VERSION, kinds, kubernetes_validate
from .test_pipeline import URL, assert_gap_free, deploy, finished, states

CANARY = "nginx.ingress.kubernetes.io/canary"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def _row(pk, **state):
    return wait_for(lambda: Deployment.objects.filter(pk=pk, **state).first(), timeout=30)


def _image(cluster, name):
    found = cluster.get("apps/v1", "Deployment", name, "acme--dev")
    return found and found["spec"]["template"]["spec"]["containers"][0]["image"]


def _canary_objects(cluster):
    return [
        kind
        for api, kind, name in (
            ("apps/v1", "Deployment", "web-canary"),
            ("v1", "Service", "web-canary"),
            ("networking.k8s.io/v1", "Ingress", "web-canary"),
            ("v1", "ConfigMap", "web-canary-env"),
        )
        if cluster.get(api, kind, name, "acme--dev")
    ]


def _stable_then(api, world, cluster, image="registry.example/web:2.0"):
    """web #1 rolled out natively, and web #2 to deploy with a strategy."""
    app = make_app(world.acme)
    first = make_release(app, ingress_host="web.acme.example")
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    return make_release(app, image=image, ingress_host="web.acme.example")


def test_a_canary_with_manual_continue_goes_10_50_100(world, api, cluster):
    second = _stable_then(api, world, cluster)
    response = deploy(api, world.user("developer"), second, strategy="canary", steps=[10, 50, 100])
    assert response.status_code == 201, response.content
    pk = response.json()["id"]

    row = _row(pk, step=1, waiting=True)
    ingress = cluster.get("networking.k8s.io/v1", "Ingress", "web-canary", "acme--dev")
    assert ingress["metadata"]["annotations"][CANARY] == "true"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "10"
    assert _image(cluster, "web") == "registry.example/web:1.0" and _image(cluster, "web-canary") == second.image
    assert api.get(f"{URL}{pk}/").json()["waiting"] is True

    assert api.post(f"{URL}{pk}/continue/", {}, format="json").status_code == 200
    _row(pk, step=2, waiting=True)
    weight = cluster.get("networking.k8s.io/v1", "Ingress", "web-canary", "acme--dev")["metadata"]["annotations"]
    assert weight["nginx.ingress.kubernetes.io/canary-weight"] == "50"
    assert cluster.get("apps/v1", "Deployment", "web-canary", "acme--dev")["spec"]["replicas"] == 1

    assert api.post(f"{URL}{pk}/continue/", {}, format="json").status_code == 200
    row = finished(pk)
    assert row.state == State.SUCCEEDED, row.outcome
    assert _image(cluster, "web") == second.image
    assert _canary_objects(cluster) == []
    assert states(row) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
    assert list(row.events.filter(key__regex=r"^step:\d:started$").values_list("data__weight", flat=True)) == [
        10,
        50,
        100,
    ]
    assert_gap_free(row)
    assert api.post(f"{URL}{pk}/continue/", {}, format="json").status_code == 409


def test_a_canary_with_a_health_gate_advances_by_itself(world, api, cluster):
    second = _stable_then(api, world, cluster)
    response = deploy(api, world.user("developer"), second, strategy="canary", steps=[25, 100], gate_seconds=1)
    row = finished(response.json()["id"])
    assert row.state == State.SUCCEEDED, row.outcome
    assert not row.events.filter(key__endswith=":waiting").exists()
    assert row.events.filter(key="step:1:healthy").exists() and row.events.filter(key="step:2:started").exists()
    assert _image(cluster, "web") == second.image and _canary_objects(cluster) == []
    assert_gap_free(row)


def test_a_crash_looping_canary_aborts_and_leaves_stable_untouched(world, api, cluster):
    second = _stable_then(api, world, cluster, image="registry.example/web:2-crash")
    stable_before = cluster.get("apps/v1", "Deployment", "web", "acme--dev")["metadata"]["generation"]
    row = finished(deploy(api, world.user("developer"), second, strategy="canary", gate_seconds=5).json()["id"])
    assert row.state == State.FAILED and row.outcome.startswith("Canary aborted at step 1"), row.outcome
    stable = cluster.get("apps/v1", "Deployment", "web", "acme--dev")
    assert stable["metadata"]["generation"] == stable_before and _image(cluster, "web") == "registry.example/web:1.0"
    assert _canary_objects(cluster) == []
    assert_gap_free(row)


def test_a_cancelled_canary_is_removed(world, api, cluster):
    second = _stable_then(api, world, cluster)
    pk = deploy(api, world.user("developer"), second, strategy="canary").json()["id"]
    _row(pk, step=1, waiting=True)
    assert _canary_objects(cluster)
    assert api.post(f"{URL}{pk}/cancel/", {"reason": "looks wrong"}, format="json").status_code == 200
    row = finished(pk)
    assert row.state == State.CANCELLED and row.events.filter(key="canary:removed").exists(), row.outcome
    tidy_strategies()  # what beat does; nothing left to do
    assert _canary_objects(cluster) == [] and _image(cluster, "web") == "registry.example/web:1.0"
    assert states(row)[-2:] == [State.CANCELLING, State.CANCELLED]


@pytest.fixture
def slow_cluster(world, celery_worker):
    from sandbox import SandboxCluster

    with SandboxCluster(ready_after=2.0) as sandbox:
        registered(world, sandbox)
        yield KubeClient(sandbox.api_client())


def _selected_colour(cluster):
    return cluster.get("v1", "Service", "web", "acme--dev")["spec"]["selector"].get("paas.dev/colour")


def test_blue_green_switches_once_ready_and_switches_back(world, api, slow_cluster):
    app = make_app(world.acme)
    blue, green = make_release(app), make_release(app, image="registry.example/web:2.0")
    first = finished(deploy(api, world.user("developer"), blue, strategy="blue_green").json()["id"])
    assert (first.state, first.colour, _selected_colour(slow_cluster)) == (State.SUCCEEDED, "blue", "blue")

    pk = deploy(api, world.user("developer"), green, strategy="blue_green", keep_old_colour_seconds=300).json()["id"]
    _row(pk, state=State.PROGRESSING, colour="green")
    assert slow_cluster.get("apps/v1", "Deployment", "web-green", "acme--dev")
    assert _selected_colour(slow_cluster) == "blue"  # green is not ready yet
    row = finished(pk)
    assert row.state == State.SUCCEEDED and _selected_colour(slow_cluster) == "green"
    assert slow_cluster.get("apps/v1", "Deployment", "web-green", "acme--dev")["status"]["readyReplicas"] == 2

    assert api.post(f"{URL}{pk}/switch-back/", {"reason": "errors"}, format="json").status_code == 200
    wait_for(lambda: _selected_colour(slow_cluster) == "blue", timeout=15)
    assert api.post(f"{URL}{pk}/switch-back/", {}, format="json").status_code == 409
    Deployment.objects.filter(pk=pk).update(switch_back_until="2000-01-01T00:00:00Z")
    tidy_strategies()
    assert slow_cluster.get("apps/v1", "Deployment", "web-green", "acme--dev")["spec"]["replicas"] == 0
    assert _selected_colour(slow_cluster) == "blue"
    assert_gap_free(Deployment.objects.get(pk=pk))


def test_strategy_manifests_are_schema_valid_and_deterministic(world):
    app = make_app(world.acme, "shop")
    release = make_release(app, ingress_host="shop.acme.example", autoscale_min=2, autoscale_max=6, replicas=4)
    dev = world.acme.environments.get(name="dev")
    canary = render_canary(release, dev, 7, weight=50, progress_deadline_seconds=60)
    assert json.dumps(canary) == json.dumps(render_canary(release, dev, 7, weight=50, progress_deadline_seconds=60))
    assert kinds(canary) == ["ConfigMap", "Deployment", "Service", "Ingress"]
    assert {m["metadata"]["name"] for m in canary} == {"shop-canary", "shop-canary-env"}
    assert canary[1]["spec"]["replicas"] == 2 and canary[3]["metadata"]["annotations"][CANARY] == "true"
    green = render_colour(release, dev, 7, colour="green", progress_deadline_seconds=60)
    assert json.dumps(green) == json.dumps(render_colour(release, dev, 7, colour="green", progress_deadline_seconds=60))
    assert [m["metadata"]["name"] for m in green] == ["shop-green-env", "shop-green", "shop-green", "shop", "shop"]
    assert green[3]["spec"]["selector"]["paas.dev/colour"] == "green"
    idle = render_colour(release, dev, 7, colour="blue", progress_deadline_seconds=60, idle=True)
    assert next(m for m in idle if m["kind"] == "Deployment")["spec"]["replicas"] == 0
    for manifest in canary + green + idle:
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
