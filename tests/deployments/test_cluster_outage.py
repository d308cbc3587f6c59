"""A cluster that answers 500 to everything delays a deployment up to its progress deadline instead of
failing it (issue 14, item 8), through a real worker and the sandbox's fault injection over HTTP. The
outage is recorded once, however many retries it takes, and the event log stays gap-free."""

import time

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import assert_gap_free, deploy, finished, states

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_settings():
    """Deployment steps retry within a second, so an outage is noticed as soon as it ends."""
    return {"DEPLOYMENT_RETRY_MAX_SECONDS": "1.0"}


def _outage_events(deployment):
    return list(deployment.events.filter(key__startswith="outage:").order_by("seq").values_list("key", "message"))


def test_an_outage_shorter_than_the_deadline_delays_the_deployment(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    sandbox.inject_faults(error_rate=1.0)
    response = deploy(api, world.user("developer"), make_release(make_app(world.acme)), progress_deadline_seconds=40)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    wait_for(lambda: Deployment.objects.get(pk=pk).events.filter(key="outage:1:waiting").exists(), timeout=20)
    time.sleep(8)  # several retries fall inside the outage
    assert Deployment.objects.get(pk=pk).state == State.APPLYING
    sandbox.clear_faults()
    deployment = finished(pk, timeout=40)

    assert deployment.state == State.SUCCEEDED, deployment.outcome
    assert states(deployment) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
    (waiting_key, waiting), (over_key, over) = _outage_events(deployment)
    assert (waiting_key, over_key) == ("outage:1:waiting", "outage:1:over")
    assert waiting.startswith("Waiting for the cluster: 500 (Internal error occurred: sandbox fault injection).")
    assert over.startswith("The cluster answers again after 500 for ")
    assert not deployment.events.filter(key__startswith="retry:").exists()
    assert_gap_free(deployment)
    applied = KubeClient(sandbox.api_client()).get("apps/v1", "Deployment", deployment.application.name, "acme--dev")
    assert applied["status"]["updatedReplicas"] == applied["status"]["availableReplicas"] == 2


def test_an_outage_longer_than_the_deadline_fails_as_unreachable(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    sandbox.inject_faults(error_rate=1.0)
    response = deploy(api, world.user("developer"), make_release(make_app(world.acme)), progress_deadline_seconds=8)
    assert response.status_code == 201, response.content
    deployment = finished(response.json()["id"], timeout=40)

    assert deployment.state == State.FAILED
    assert deployment.outcome.startswith("The cluster sandbox was unreachable for "), deployment.outcome
    assert deployment.outcome.endswith(
        ", longer than the progress deadline (8 s): 500 (Internal error occurred: sandbox fault injection)."
    )
    assert "refused" not in deployment.outcome
    assert [key for key, _ in _outage_events(deployment)] == ["outage:1:waiting"]
    assert_gap_free(deployment)


def test_a_refusal_fails_at_once_with_the_clusters_words(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    KubeClient(sandbox.api_client()).apply(
        [
            {  # a quota that forbids any Service: the cluster answers 403
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "no-services", "namespace": "acme--dev"},
                "spec": {"hard": {"services": "0"}},
            }
        ]
    )
    response = deploy(api, world.user("developer"), make_release(make_app(world.acme)))
    assert response.status_code == 201, response.content
    deployment = finished(response.json()["id"], timeout=20)

    assert deployment.state == State.FAILED
    assert deployment.outcome.startswith("The cluster refused the deployment: "), deployment.outcome
    assert "exceeded quota: no-services" in deployment.outcome
    assert not deployment.events.filter(key__startswith="outage:").exists()
    assert_gap_free(deployment)
