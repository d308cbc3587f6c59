"""A pod quota that a rollout cannot fit is said, not discovered at the deadline: a deploy whose surge
pod cannot fit the environment's pod quota is refused at create time naming the quota, and a refusal
the portal could not foresee (pods it does not know of fill the namespace) appears as a deployment
event while the rollout runs, and in the failure. Real worker, real sandbox cluster and its ResourceQuota."""

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.tenants.services import quota_set
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    kube = KubeClient(sandbox.api_client())
    quota_set(
        operator=world.operator_principal,
        tenant=world.acme,
        resource="pods",
        limit=4,
        environment=world.acme.environments.get(name="dev"),
    )
    wait_for(
        lambda: (
            (kube.get("v1", "ResourceQuota", "tenant-quota", "acme--dev") or {})
            .get("spec", {})
            .get("hard", {})
            .get("pods")
            == "4"
        ),
        timeout=30,
    )
    return kube


def test_a_deploy_whose_surge_pod_cannot_fit_the_pod_quota_is_refused_at_create(world, api, cluster):
    app = make_app(world.acme)
    first = deploy(api, world.user("developer"), make_release(app, replicas=4))
    assert finished(first.json()["id"]).state == State.SUCCEEDED

    refused = deploy(api, world.user("developer"), make_release(app, image="registry.example/web:2.0", replicas=4))
    assert refused.status_code == 409 and refused.json()["code"] == "quota_exceeded", refused.content
    detail = refused.json()["detail"]
    assert "runs 1 new pod(s) beside the 4 running now" in detail and "is 4; 4 in use" in detail, detail
    assert Deployment.objects.count() == 1


def test_a_quota_refusal_in_the_cluster_is_an_event_as_it_happens_and_names_the_failure(world, api, cluster):
    app = make_app(world.acme)
    assert finished(deploy(api, world.user("developer"), make_release(app)).json()["id"]).state == State.SUCCEEDED
    for name in ("stray-1", "stray-2"):  # pods the portal does not know of fill the namespace's quota
        cluster.apply(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name, "namespace": "acme--dev"},
                    "spec": {"containers": [{"name": "c", "image": "registry.example/stray:1"}]},
                }
            ]
        )

    created = deploy(
        api, world.user("developer"), make_release(app, image="registry.example/web:2.0"), progress_deadline_seconds=8
    )
    assert created.status_code == 201, created.content
    deployment = Deployment.objects.get(pk=created.json()["id"])
    event = wait_for(lambda: deployment.events.filter(key__startswith="replica-failure:").first(), timeout=20)
    said = "exceeded quota: tenant-quota, requested: pods=1, used: pods=4, limited: pods=4"
    assert event.message == f"The cluster cannot create a pod: {said}", event.message
    failed = finished(deployment.pk)
    assert failed.state == State.FAILED and said in failed.outcome, failed.outcome
    assert event.seq < deployment.events.get(state=State.FAILED).seq, "said as it happened, before the failure"
    assert deployment.events.filter(key__startswith="replica-failure:").count() == 1, "one refusal, one event"


def test_blue_green_and_canary_are_refused_when_their_peak_cannot_fit_the_pod_quota(world, api, cluster):
    """Blue-green runs both colours at full size, a canary runs beside the stable pods (and still runs
    while the promotion surges): each is checked at its own peak, not only at its end (pods quota 4)."""
    app = make_app(world.acme)
    assert (
        finished(deploy(api, world.user("developer"), make_release(app, replicas=3)).json()["id"]).state == "succeeded"
    )

    blue_green = deploy(
        api,
        world.user("developer"),
        make_release(app, image="registry.example/web:2.0", replicas=3),
        strategy="blue_green",
    )
    assert blue_green.status_code == 409 and blue_green.json()["code"] == "quota_exceeded", blue_green.content
    assert (
        "blue-green runs the new colour at full size (3 pods) beside the 3 serving now" in blue_green.json()["detail"]
    )

    canary = deploy(
        api, world.user("developer"), make_release(app, image="registry.example/web:3.0", replicas=3), strategy="canary"
    )
    assert canary.status_code == 409 and canary.json()["code"] == "quota_exceeded", canary.content
    assert "the canary runs 2 pod(s) beside the 3 serving now" in canary.json()["detail"], canary.json()["detail"]
    assert Deployment.objects.count() == 1


def test_a_canary_whose_peak_fits_the_pod_quota_goes_ahead(world, api, cluster):
    app = make_app(world.acme)
    assert (
        finished(deploy(api, world.user("developer"), make_release(app, replicas=2)).json()["id"]).state == "succeeded"
    )
    # One canary pod beside two stable ones, then three stable (one surge) beside it at the promotion: 4.
    canary = deploy(
        api,
        world.user("developer"),
        make_release(app, image="registry.example/web:2.0", replicas=2),
        strategy="canary",
        steps=[50, 100],
        gate_seconds=0,
    )
    assert canary.status_code == 201, canary.content
    assert finished(canary.json()["id"]).state == "succeeded"
