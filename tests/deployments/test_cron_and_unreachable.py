"""A cron job deploys end to end, and a deploy to an unreachable cluster fails with a reason that names
the cluster, through a real worker (with short retries) and the sandbox over HTTP."""

import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.models import Placement
from apps.clusters.services import cluster_register
from apps.deployments.choices import State
from tests.conftest import free_port

from .conftest import make_app, make_release, registered
from .test_pipeline import assert_gap_free, deploy, finished, states

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_settings():
    """Deployment steps retry after half a second, so exhausting the retries is quick."""
    return {"DEPLOYMENT_RETRY_MAX_SECONDS": "0.5"}


def test_a_cron_job_succeeds_once_its_cron_job_is_applied(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    release = make_release(make_app(world.acme, name="report", kind="cron"), schedule="0 3 * * *")
    response = deploy(api, world.user("developer"), release)
    assert response.status_code == 201, response.content
    deployment = finished(response.json()["id"])

    assert deployment.state == State.SUCCEEDED, deployment.outcome
    assert deployment.outcome == "Cron jobs have no rollout: succeeded once the CronJob was applied"
    assert states(deployment) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
    assert_gap_free(deployment)
    applied = KubeClient(sandbox.api_client()).get("batch/v1", "CronJob", "report", "acme--dev")
    assert applied["spec"]["schedule"] == "0 3 * * *"
    assert applied["metadata"]["labels"]["paas.dev/release"] == str(release.number)


def test_a_deploy_to_an_unreachable_cluster_fails_naming_the_cluster(world, api, sandbox, celery_worker):
    registered(world, sandbox)
    offline = cluster_register(
        operator=world.operator_principal,
        name="offline",
        auth_method="sandbox",
        api_url=f"http://127.0.0.1:{free_port()}",
    )
    dev = world.acme.environments.get(name="dev")
    Placement.objects.filter(environment=dev).update(cluster=offline, provisioned_at=None)

    response = deploy(api, world.user("developer"), make_release(make_app(world.acme)), progress_deadline_seconds=6)
    assert response.status_code == 201, response.content
    deployment = finished(response.json()["id"], timeout=60)

    cause = "no answer (Connection refused: nothing listens at the API URL)"
    assert deployment.state == State.FAILED
    assert deployment.outcome.startswith("The cluster offline was unreachable for "), deployment.outcome
    assert deployment.outcome.endswith(f", longer than the progress deadline (6 s): {cause}.")
    waiting = list(deployment.events.filter(key__startswith="outage:").values_list("message", flat=True))
    assert waiting == [
        f"Waiting for the cluster: {cause}. Retrying with backoff for up to the progress deadline (6 s)."
    ]
    assert_gap_free(deployment)
    assert "Connection refused" in Placement.objects.get(environment=dev).last_error
