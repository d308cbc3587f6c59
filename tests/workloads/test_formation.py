"""Replicas are workload state (the formation): a release's `replicas` seeds the first deploy to an
environment; a scale through the portal is desired state from then on, so the next release runs with
it and the drift check agrees. An autoscaled release leaves replicas to its autoscaler, and removing
the application forgets the formation. Real sandbox cluster and Celery worker."""

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.models import Formation
from apps.workloads.models import Workload
from apps.workloads.services import workload_refresh
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)

NS = "acme--dev"


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def live(api, world, release):
    deployment = finished(deploy(api, world.user("developer"), release).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome
    return deployment


def replicas_in(cluster, name="web"):
    return cluster.get("apps/v1", "Deployment", name, NS)["spec"].get("replicas")


def refreshed(app) -> Workload:
    return workload_refresh(application=app, environment=app.tenant.environments.get(name="dev"))


def scale(api, world, deployment, replicas):
    api.as_user(world.user("developer"))
    answer = api.post(f"/api/v1/deployments/{deployment.pk}/scale/", {"replicas": replicas}, format="json")
    assert answer.status_code == 200, answer.content


def test_a_portal_scale_survives_the_next_release(world, api, cluster):
    app = make_app(world.acme)
    first = live(api, world, make_release(app, replicas=2))
    assert replicas_in(cluster) == 2, "the first deploy takes the release's replicas"
    scale(api, world, first, 3)
    assert Formation.objects.get(application=app).replicas == 3

    live(api, world, make_release(app, image="registry.example/web:2.0", replicas=2))
    assert replicas_in(cluster) == 3, "release #2 says 2, but the workload was scaled to 3"
    workload = wait_for(lambda: (w := refreshed(app)).ready_replicas == 3 and w, timeout=30)
    assert (workload.release.number, workload.replicas, workload.sync, workload.drift) == (2, 3, "synced", [])

    api.as_user(world.user("viewer"))
    [row] = api.get("/api/v1/workloads/", {"application": "web", "environment": "dev"}).json()["results"]
    assert row["formation"] == 3


def test_without_a_portal_scale_each_release_brings_its_own_replicas(world, api, cluster):
    app = make_app(world.acme)
    live(api, world, make_release(app, replicas=2))
    live(api, world, make_release(app, image="registry.example/web:2.0", replicas=4))
    assert replicas_in(cluster) == 4
    assert not Formation.objects.filter(application=app).exists()
    api.as_user(world.user("viewer"))
    [row] = api.get("/api/v1/workloads/", {"application": "web", "environment": "dev"}).json()["results"]
    assert row["formation"] is None


def test_an_autoscaled_release_leaves_replicas_to_its_autoscaler(world, api, cluster):
    app = make_app(world.acme)
    first = live(api, world, make_release(app, replicas=2))
    scale(api, world, first, 3)
    autoscaled = live(api, world, make_release(app, image="registry.example/web:2.0", autoscale_min=1, autoscale_max=5))
    hpa = cluster.get("autoscaling/v2", "HorizontalPodAutoscaler", "web", NS)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)
    workload = refreshed(app)
    assert workload.sync == "synced" and not any(d["path"] == "spec.replicas" for d in workload.drift)
    api.as_user(world.user("developer"))
    refused = api.post(f"/api/v1/deployments/{autoscaled.pk}/scale/", {"replicas": 4}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "autoscaled"
    assert Formation.objects.get(application=app).replicas == 3, "a refused scale changes nothing"


def test_removing_the_application_forgets_its_formation(world, api, cluster):
    app = make_app(world.acme)
    first = live(api, world, make_release(app, replicas=2))
    scale(api, world, first, 3)
    api.as_user(world.user("admin"))
    removed = api.post("/api/v1/deployments/remove/", {"application": "web", "environment": "dev"}, format="json")
    assert removed.status_code == 200, removed.content
    assert not Formation.objects.filter(application=app).exists()
    live(api, world, make_release(app, image="registry.example/web:2.0", replicas=2))
    assert replicas_in(cluster) == 2, "deploying again is a first deploy: the release's replicas"
