"""A rollout is succeeded only when the cluster has finished it: no old pod left, every new one available."""

import pytest

from apps.clusters.kube import KubeClient, RolloutStatus
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered


def deployment_reporting(replicas, updated, ready, available, desired=4, generation=2, observed=2):
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": desired},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
        },
    }


@pytest.mark.parametrize(
    "numbers, complete",
    [
        ((5, 4, 4, 4), False),  # maxSurge 1: all four updated, one old pod still running and counted as ready
        ((4, 4, 4, 4), True),
        ((4, 4, 3, 3), False),
        ((4, 3, 4, 4), False),
    ],
)
def test_complete_follows_kubectls_rollout_status_rule(numbers, complete):
    status = RolloutStatus.from_deployment(deployment_reporting(*numbers))
    assert status.complete is complete
    if numbers == (5, 4, 4, 4):
        assert status.message == "1 old replicas are pending termination"


def test_an_unobserved_generation_is_never_complete():
    assert not RolloutStatus.from_deployment(deployment_reporting(4, 4, 4, 4, generation=3)).complete


@pytest.mark.django_db(transaction=True)
def test_a_slow_rollout_is_succeeded_only_once_no_old_pod_runs(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    kube = KubeClient(sandbox.api_client())
    app = make_app(world.acme)
    first, slow = make_release(app, replicas=4), make_release(app, image="registry.example/web:v2-slow", replicas=4)
    api.as_user(world.user("developer"))
    dev = world.acme.environments.get(name="dev")
    for release in (first, slow):
        response = api.post(
            "/api/v1/deployments/", {"tenant": "acme", "release": release.pk, "environment": dev.pk}, format="json"
        )
        assert response.status_code == 201, response.content
        deployment = wait_for(
            lambda pk=response.json()["id"]: Deployment.objects.filter(  # noqa: B008 (bound once)
                pk=pk, state__in=[State.SUCCEEDED, State.FAILED]
            ).first(),
            timeout=90,
            interval=0.05,
        )
        pods, _ = kube.list("v1", "Pod", dev.namespace, label_selector="paas.dev/application=web")
        assert deployment.state == State.SUCCEEDED, deployment.outcome
        assert {pod["metadata"]["labels"]["paas.dev/release"] for pod in pods} == {str(release.number)}
        assert len(pods) == 4
