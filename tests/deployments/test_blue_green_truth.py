"""Blue-green tells the cluster's truth (issue 14): after a switch back the pages and the API say the
colour and release the Service routes to, read from the cluster, never the newest deployment's; a
blue-green deploy removes the rolling Deployment it took over, and a rolling deploy removes the colours.
Real worker, sandbox cluster over HTTP, read back with the official client."""

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.models import Deployment
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import URL, assert_gap_free, deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)
NS = "acme--dev"


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def _selected_colour(cluster):
    return cluster.get("v1", "Service", "web", NS)["spec"]["selector"].get("paas.dev/colour")


def _deployments(cluster) -> set[str]:
    found, _ = cluster.list("apps/v1", "Deployment", NS, label_selector="paas.dev/application=web")
    return {d["metadata"]["name"] for d in found}


def _deployed(api, world, release, **payload):
    row = finished(deploy(api, world.user("developer"), release, **payload).json()["id"])
    assert row.state == "succeeded", row.outcome
    return row


def _switched_back(api, world, cluster):
    """web #1 rolling, #2 blue-green (blue), #3 blue-green (green), then switched back to blue."""
    app = make_app(world.acme)
    _deployed(api, world, make_release(app, ingress_host="web.acme.example"))
    blue = _deployed(
        api,
        world,
        make_release(app, image="registry.example/web:2.0", ingress_host="web.acme.example"),
        strategy="blue_green",
    )
    green = _deployed(
        api,
        world,
        make_release(app, image="registry.example/web:3.0", ingress_host="web.acme.example"),
        strategy="blue_green",
        keep_old_colour_seconds=300,
    )
    assert (blue.colour, green.colour, _selected_colour(cluster)) == ("blue", "green", "green")
    assert api.post(f"{URL}{green.pk}/switch-back/", {"reason": "errors"}, format="json").status_code == 200
    wait_for(lambda: _selected_colour(cluster) == "blue", timeout=15)
    wait_for(lambda: Deployment.objects.get(pk=green.pk).events.filter(key="switch-back:done").exists())
    return blue, green


def test_after_a_switch_back_pages_and_api_say_blue_and_its_release(world, api, client, cluster):
    blue, green = _switched_back(api, world, cluster)
    # The cluster's own word: the Service selects blue, whose Deployment runs release #2.
    serving = cluster.get("apps/v1", "Deployment", "web-blue", NS)
    assert serving["spec"]["template"]["metadata"]["labels"]["paas.dev/release"] == "2"

    api.as_user(world.user("viewer"))
    answer = api.get(f"{URL}{green.pk}/serving/").json()
    assert (answer["readable"], answer["release_number"], answer["colour"]) == (True, 2, "blue"), answer
    assert answer["deployment"] == blue.pk and answer["summary"] == "Release #2 (blue), 2 of 2 replicas ready"
    per_environment = api.get(f"{URL}serving/", {"application": green.application_id}).json()
    dev = next(row for row in per_environment if row["environment_name"] == "dev")
    assert (dev["release_number"], dev["colour"]) == (2, "blue")
    assert next(row for row in per_environment if row["environment_name"] == "prod")["release_number"] is None

    client.force_login(world.user("viewer"))
    for path in (f"/t/acme/deployments/{green.pk}/", "/t/acme/apps/web/", "/t/acme/"):
        html = client.get(path).content.decode()
        assert "Release #2 (blue), 2 of 2 replicas ready" in html, path
        assert "Green is live" not in html and "Release #3 (green)" not in html, path
    assert_gap_free(Deployment.objects.get(pk=green.pk))


def test_an_unreadable_cluster_is_said_so_not_guessed(world, api, client, cluster, sandbox):
    row = _deployed(api, world, make_release(make_app(world.acme)), strategy="blue_green")
    api.as_user(world.user("viewer"))
    client.force_login(world.user("viewer"))
    sandbox.inject_faults(error_rate=1.0)
    try:
        refused = api.get(f"{URL}{row.pk}/serving/")
        html = client.get(f"/t/acme/deployments/{row.pk}/").content.decode()
        listed = api.get(f"{URL}serving/", {"application": row.application_id}).json()
        overview = client.get("/t/acme/").content.decode()
    finally:
        sandbox.clear_faults()
    assert refused.status_code == 503 and refused.json()["code"] == "cluster_unreadable", refused.content
    assert "could not be read" in html and "Release #1 (blue)" not in html
    assert all(not each["readable"] and each["release_number"] is None for each in listed)
    assert "could not be read" in overview and "Release #1 (blue)" not in overview


def test_blue_green_removes_the_rolling_deployment_and_rolling_removes_the_colours(world, api, cluster):
    app = make_app(world.acme)
    _deployed(api, world, make_release(app))
    assert _deployments(cluster) == {"web"}
    took_over = _deployed(api, world, make_release(app, image="registry.example/web:2.0"), strategy="blue_green")
    assert _deployments(cluster) == {"web-blue"}, "the rolling Deployment was left running beside the colours"
    assert cluster.get("v1", "ConfigMap", "web-env", NS) is None
    said = took_over.events.get(key="rolling:removed").message
    assert "Deployment/web" in said and said.startswith("Blue serves all traffic")

    back = _deployed(api, world, make_release(app, image="registry.example/web:3.0"))
    assert _deployments(cluster) == {"web"} and _selected_colour(cluster) is None
    assert cluster.get("v1", "ConfigMap", "web-blue-env", NS) is None
    assert "Deployment/web-blue" in back.events.get(key="colours:removed").message
    image = cluster.get("apps/v1", "Deployment", "web", NS)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example/web:3.0"
    assert_gap_free(back)
