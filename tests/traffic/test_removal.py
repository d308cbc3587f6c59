"""Removing an application from an environment takes its routes' objects with it: the routes say so
instead of `applied`, and come back applied with the next deploy (made from a release) or save."""

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.choices import State
from apps.tenants.roles import Role
from apps.traffic.models import Route
from apps.traffic.services import route_update
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import URL, deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)
INGRESS = ("networking.k8s.io/v1", "Ingress")


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def _state(name: str) -> str:
    return Route.objects.get(name=name).state


def test_removing_the_application_marks_its_routes_removed_until_they_are_applied_again(world, api, client, cluster):
    release = make_release(make_app(world.acme), ingress_host="web.acme.example")
    assert finished(deploy(api, world.user("developer"), release).json()["id"]).state == State.SUCCEEDED
    response = api.post(
        "/api/v1/routes/",
        {"tenant": "acme", "environment": "dev", "application": "web", "host": "api.acme.example", "name": "web-api"},
        format="json",
    )
    assert response.status_code == 201, response.content
    wait_for(lambda: _state("web-api") == Route.State.APPLIED, timeout=30)
    assert _state("web") == Route.State.APPLIED
    assert cluster.get(*INGRESS, "web", "acme--dev") and cluster.get(*INGRESS, "web-api", "acme--dev")

    dev = world.acme.environments.get(name="dev")
    response = api.post(f"{URL}remove/", {"application": "web", "environment": dev.pk}, format="json")
    assert response.status_code == 200, response.content
    assert {"Ingress/web", "Ingress/web-api"} <= set(response.json()["removed"])
    assert cluster.get(*INGRESS, "web", "acme--dev") is None and cluster.get(*INGRESS, "web-api", "acme--dev") is None
    assert {_state("web"), _state("web-api")} == {Route.State.REMOVED}
    listed = {row["name"]: row["state"] for row in api.get("/api/v1/routes/").json()["results"]}
    assert listed == {"web": "removed", "web-api": "removed"}
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/apps/web/traffic/")
    assert page.status_code == 200 and page.content.decode().count("Removed with the application") == 2

    # deploying again brings the release's route back with the deployment's own objects
    assert finished(deploy(api, world.user("developer"), release).json()["id"]).state == State.SUCCEEDED
    assert _state("web") == Route.State.APPLIED and cluster.get(*INGRESS, "web", "acme--dev")
    assert _state("web-api") == Route.State.REMOVED and cluster.get(*INGRESS, "web-api", "acme--dev") is None

    # a route of its own comes back with its next save
    route_update(
        actor=world.principal(Role.DEVELOPER), route=Route.objects.get(name="web-api"), read_timeout_seconds=30
    )
    wait_for(lambda: _state("web-api") == Route.State.APPLIED, timeout=30)
    assert cluster.get(*INGRESS, "web-api", "acme--dev")
