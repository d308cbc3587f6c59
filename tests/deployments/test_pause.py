"""Pause and resume of an in-flight rolling update, through the real pipeline: a real Celery worker and
the sandbox cluster over HTTP; and the refusals for what cannot be paused or resumed."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.deployments.choices import State, Strategy
from apps.deployments.models import Deployment
from apps.deployments.services import ALREADY_PAUSED, NOT_IN_PROGRESS, NOT_PAUSED, STRATEGY_NOT_PAUSABLE
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import URL, assert_gap_free, deploy, finished, states


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def cluster_paused(cluster, namespace="acme--dev", name="web") -> bool:
    return bool(cluster.get("apps/v1", "Deployment", name, namespace)["spec"].get("paused"))


def operations(deployment) -> list[str]:
    return [e.data["operation"] for e in deployment.events.filter(data__has_key="operation").order_by("seq")]


def paused_rollout(world, api, cluster) -> Deployment:
    """A slow rollout (pods ready after about 3 s) with a 2-second progress deadline, paused mid-way."""
    release = make_release(make_app(world.acme), image="registry.example/web:2-slow")
    created = deploy(api, world.user("developer"), release, progress_deadline_seconds=2).json()
    wait_for(lambda: Deployment.objects.filter(pk=created["id"], state=State.PROGRESSING).exists(), timeout=20)
    response = api.post(f"{URL}{created['id']}/pause/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == State.PROGRESSING and response.json()["paused_at"]
    return Deployment.objects.get(pk=created["id"])


@pytest.mark.django_db(transaction=True)
def test_a_paused_rollout_outlives_its_deadline_and_succeeds_once_resumed(world, api, cluster):
    deployment = paused_rollout(world, api, cluster)
    assert cluster_paused(cluster)
    # Past the cluster's 2-second deadline, and with the portal's own deadline (plus grace) long gone too.
    Deployment.objects.filter(pk=deployment.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    time.sleep(5)
    deployment.refresh_from_db()
    assert deployment.state == State.PROGRESSING and deployment.paused_at is not None
    assert deployment.lease_expires_at > timezone.now()

    response = api.post(f"{URL}{deployment.pk}/resume/")
    assert response.status_code == 200, response.content
    assert response.json()["paused_at"] is None and not cluster_paused(cluster)
    deployment = finished(deployment.pk)

    assert deployment.state == State.SUCCEEDED, deployment.outcome
    assert deployment.paused_at is None
    assert states(deployment) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
    assert operations(deployment) == ["pause", "resume"]
    assert deployment.events.get(data__operation="pause").seq < deployment.events.get(data__operation="resume").seq
    assert_gap_free(deployment)
    assert [
        a.action for a in AuditEvent.objects.filter(action__in=["deployment.pause", "deployment.resume"]).order_by("id")
    ] == ["deployment.pause", "deployment.resume"]


@pytest.mark.django_db(transaction=True)
def test_a_paused_rollout_can_be_cancelled(world, api, cluster):
    deployment = paused_rollout(world, api, cluster)
    response = api.post(f"{URL}{deployment.pk}/cancel/", {"reason": "wrong build"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == State.CANCELLING, response.content
    deployment = finished(deployment.pk)
    assert deployment.state == State.CANCELLED and deployment.paused_at is None, deployment.outcome
    assert states(deployment)[-2:] == [State.CANCELLING, State.CANCELLED]
    assert_gap_free(deployment)


def row(world, **fields) -> Deployment:
    release = make_release(make_app(world.acme))
    return Deployment.objects.create(
        tenant=world.acme,
        application=release.application,
        release=release,
        environment=world.acme.environments.get(name="dev"),
        **fields,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "action", "code"),
    [
        ({"state": State.SUCCEEDED}, "pause", NOT_IN_PROGRESS),
        ({"state": State.QUEUED}, "pause", NOT_IN_PROGRESS),
        ({"state": State.PROGRESSING, "strategy": Strategy.CANARY}, "pause", STRATEGY_NOT_PAUSABLE),
        ({"state": State.PROGRESSING, "strategy": Strategy.BLUE_GREEN}, "pause", STRATEGY_NOT_PAUSABLE),
        ({"state": State.PROGRESSING, "paused_at": timezone.now()}, "pause", ALREADY_PAUSED),
        ({"state": State.PROGRESSING}, "resume", NOT_PAUSED),
    ],
)
def test_what_cannot_be_paused_or_resumed_is_refused(world, api, fields, action, code):
    deployment = row(world, **fields)
    api.as_user(world.user("developer"))
    response = api.post(f"{URL}{deployment.pk}/{action}/")
    assert response.status_code == 409 and response.json()["code"] == code, response.content
    deployment.refresh_from_db()
    assert deployment.last_seq == 0 and not AuditEvent.objects.filter(action=f"deployment.{action}").exists()


@pytest.mark.django_db
def test_a_viewer_cannot_pause(world, api):
    deployment = row(world, state=State.PROGRESSING)
    api.as_user(world.user("viewer"))
    assert api.post(f"{URL}{deployment.pk}/pause/").status_code == 403
    deployment.refresh_from_db()
    assert deployment.paused_at is None
