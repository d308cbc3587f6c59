"""Day-2 operations wait out a cluster outage as the pipeline does (issue 14): a scale, restart or
switch back asked for while the cluster answers 500 says "Waiting for the cluster" on the deployment
and is made once the cluster answers again, instead of failing at once; a refusal (4xx) still fails at
once. Real worker, the sandbox's fault injection over HTTP, read back with the official client."""

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.models import Deployment
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_cluster_outage import worker_settings  # noqa: F401 (a fixture)
from .test_pipeline import URL, assert_gap_free, deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)
NS = "acme--dev"


def _keys(deployment) -> list[str]:
    return list(Deployment.objects.get(pk=deployment.pk).events.order_by("seq").values_list("key", flat=True))


def _outage_said(deployment):
    return wait_for(
        lambda: Deployment.objects.get(pk=deployment.pk).events.filter(key__regex=r"^outage:\d+:waiting$").first(),
        timeout=30,
    )


def test_a_scale_during_an_outage_waits_and_is_made_when_the_cluster_answers(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    kube = KubeClient(sandbox.api_client())
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome

    sandbox.inject_faults(error_rate=1.0)
    try:
        answer = api.post(f"{URL}{deployment.pk}/scale/", {"replicas": 3}, format="json")
        assert answer.status_code == 202, answer.content
        assert answer.json()["state"] == "waiting_for_cluster"
        waiting = _outage_said(deployment)
        assert waiting.message.startswith("Waiting for the cluster: 500 (Internal error occurred: sandbox fault")
        wait_for(lambda: sandbox.inject_faults()["injected"]["errors"] > 20, timeout=30)  # the task keeps trying
    finally:
        sandbox.clear_faults()

    wait_for(lambda: kube.get("apps/v1", "Deployment", "web", NS)["spec"]["replicas"] == 3, timeout=30)
    wait_for(lambda: "Scaled from 2 to 3 replicas" in _messages(deployment), timeout=15)
    keys = _keys(deployment)
    assert keys.index(waiting.key) < keys.index(waiting.key.replace(":waiting", ":over"))
    assert_gap_free(Deployment.objects.get(pk=deployment.pk))


def _messages(deployment) -> list[str]:
    return list(Deployment.objects.get(pk=deployment.pk).events.values_list("message", flat=True))


def test_a_switch_back_during_an_outage_waits_and_switches_when_the_cluster_answers(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    kube = KubeClient(sandbox.api_client())
    app = make_app(world.acme)
    finished(deploy(api, world.user("developer"), make_release(app), strategy="blue_green").json()["id"])
    green = finished(
        deploy(
            api,
            world.user("developer"),
            make_release(app, image="registry.example/web:2.0"),
            strategy="blue_green",
            keep_old_colour_seconds=300,
        ).json()["id"]
    )
    assert green.state == "succeeded", green.outcome

    sandbox.inject_faults(error_rate=1.0)
    try:
        assert api.post(f"{URL}{green.pk}/switch-back/", {}, format="json").status_code == 200
        waiting = _outage_said(green)
        assert waiting.message.startswith("Waiting for the cluster: 500")
    finally:
        sandbox.clear_faults()

    wait_for(lambda: kube.get("v1", "Service", "web", NS)["spec"]["selector"]["paas.dev/colour"] == "blue", timeout=30)
    wait_for(lambda: "switch-back:done" in _keys(green), timeout=15)
    keys = _keys(green)
    assert (
        keys.index(waiting.key) < keys.index(waiting.key.replace(":waiting", ":over")) < keys.index("switch-back:done")
    )
    assert_gap_free(Deployment.objects.get(pk=green.pk))


def test_a_refusal_still_fails_at_once(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    kube = KubeClient(sandbox.api_client())
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    kube.delete("apps/v1", "Deployment", "web", NS)  # behind the portal's back: the restart's patch gets 404

    refused = api.post(f"{URL}{deployment.pk}/restart/", format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "not_running", refused.content
    assert not any(key.startswith("outage:") for key in _keys(deployment))
