"""Day-2 operations through the real pipeline: automatic rollback, the rollback pin, scale, restart,
promote and remove, each seen in the sandbox cluster over HTTP with a real Celery worker."""

import time

import pytest

from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.deployments import pipeline
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.services import NOT_SUCCEEDED, deploy_settings_for, deployment_create
from apps.deployments.tasks import reconcile_deployments, run_deployment
from apps.tenants.models import Quota
from apps.tenants.quotas import usage_of
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import URL, assert_gap_free, deploy, finished, states

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def running_release(cluster, namespace="acme--dev", name="web") -> str:
    return cluster.get("apps/v1", "Deployment", name, namespace)["spec"]["template"]["metadata"]["labels"][
        "paas.dev/release"
    ]


def good_then_crash(world, api):
    """A release that succeeded in dev, then a crash-looping one that fails at a 3-second deadline."""
    app = make_app(world.acme)
    good, bad = make_release(app), make_release(app, image="registry.example/web:2-crash")
    assert finished(deploy(api, world.user("developer"), good).json()["id"]).state == State.SUCCEEDED
    failed = finished(deploy(api, world.user("developer"), bad, progress_deadline_seconds=3).json()["id"])
    assert failed.state == State.FAILED
    return good, failed


def switch_auto_rollback(world, api, on: bool):
    api.as_user(world.user("admin"))
    settings = deploy_settings_for(world.acme.environments.get(name="dev"))
    response = api.patch(f"/api/v1/deploy-settings/{settings.pk}/", {"auto_rollback": on}, format="json")
    assert response.status_code == 200 and response.json()["auto_rollback"] is on, response.content


def auto_rolled_back(world, api):
    switch_auto_rollback(world, api, True)
    good, failed = good_then_crash(world, api)
    rollback = wait_for(lambda: Deployment.objects.filter(rollback_of=failed).first(), timeout=10)
    return good, failed, finished(rollback.pk)


def test_a_failed_rollout_rolls_back_automatically_when_the_environment_says_so(world, api, cluster):
    good, failed, rollback = auto_rolled_back(world, api)

    assert rollback.state == State.SUCCEEDED and rollback.release == good
    assert rollback.reason.startswith(f"Automatic rollback of deployment {failed.pk}") and rollback.requested_by is None
    assert running_release(cluster) == str(good.number)
    failed.refresh_from_db()
    assert states(failed) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.FAILED]
    assert states(rollback) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
    note = failed.events.get(key="auto-rollback")
    assert note.seq == failed.last_seq and note.data == {"rollback": rollback.pk}
    assert failed.events.get(state=State.FAILED).created_at <= rollback.events.get(seq=1).created_at
    assert_gap_free(failed)
    assert_gap_free(rollback)
    assert AuditEvent.objects.filter(action="deployment.rollback", actor=None).count() == 1


def test_a_rollback_that_fails_is_not_rolled_back_again(world, api, cluster):
    good, failed, rollback = auto_rolled_back(world, api)
    # A rollback whose release crashes (as if the old release had stopped working) fails and stays failed.
    crashing_rollback, _ = deployment_create(
        actor=world.principal("developer"),
        release=failed.release,
        environment=failed.environment,
        rollback_of=rollback,
        reason="Rollback of a rollback",
        progress_deadline_seconds=3,
    )
    assert finished(crashing_rollback.pk).state == State.FAILED
    time.sleep(2)
    assert not Deployment.objects.filter(rollback_of=crashing_rollback).exists()
    assert Deployment.objects.filter(rollback_of__isnull=False).count() == 2
    assert not crashing_rollback.events.filter(key="auto-rollback").exists()


def test_no_automatic_rollback_when_the_policy_is_off(world, api, cluster):
    assert deploy_settings_for(world.acme.environments.get(name="dev")).auto_rollback is False  # dev's default
    assert deploy_settings_for(world.acme.environments.get(name="prod")).auto_rollback is True
    good, failed = good_then_crash(world, api)
    time.sleep(3)
    assert not Deployment.objects.filter(rollback_of=failed).exists()
    assert not failed.events.filter(key="auto-rollback").exists()


def test_the_reconciler_never_reapplies_a_rolled_back_release(world, api, cluster):
    """The pin: a rolled-back deployment is terminal, so the reconciler skips it and a redelivered
    task for it finds it finished; only a newer deploy changes what runs."""
    good, failed, rollback = auto_rolled_back(world, api)
    Deployment.objects.filter(pk=failed.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
    assert failed.pk not in pipeline.stalled()
    reconcile_deployments.delay()
    run_deployment.delay(failed.pk, failed.attempts)  # a stale message of the bad deployment, redelivered
    assert pipeline.apply_step(deployment_id=failed.pk, attempt=failed.attempts) is False
    time.sleep(3)
    assert running_release(cluster) == str(good.number)
    assert Deployment.objects.get(pk=failed.pk).last_seq == failed.events.count()
    assert Deployment.objects.filter(state__in=(State.QUEUED, State.APPLYING, State.PROGRESSING)).count() == 0


def test_scale_changes_the_replicas_in_the_cluster_within_quota(world, api, cluster):
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    response = api.post(f"{URL}{deployment.pk}/scale/", {"replicas": 3}, format="json")
    assert response.status_code == 200, response.content
    assert cluster.get("apps/v1", "Deployment", "web", "acme--dev")["spec"]["replicas"] == 3
    wait_for(lambda: len(cluster.list("v1", "Pod", "acme--dev", label_selector="paas.dev/application=web")[0]) == 3)
    note = deployment.events.order_by("-seq").first()
    assert note.message == "Scaled from 2 to 3 replicas" and note.data["replicas"] == [2, 3]
    assert AuditEvent.objects.filter(action="deployment.scale").count() == 1

    Quota.objects.create(tenant=world.acme, resource="pods", limit=4)
    refused = api.post(f"{URL}{deployment.pk}/scale/", {"replicas": 5}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "quota_exceeded", refused.content
    assert cluster.get("apps/v1", "Deployment", "web", "acme--dev")["spec"]["replicas"] == 3


def test_a_deployment_waiting_for_approval_does_not_hold_up_scaling_what_runs_but_a_rollout_does(world, api, cluster):
    """A deployment that waits for approval changes nothing until it is approved (perhaps days later):
    what runs now is scaled meanwhile. One that is being applied holds the scale until it ends."""
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    waiting = Deployment.objects.create(
        tenant=world.acme,
        application=deployment.application,
        release=make_release(deployment.application),
        environment=deployment.environment,
        state="pending_approval",
    )
    response = api.post(f"{URL}{deployment.pk}/scale/", {"replicas": 3}, format="json")
    assert response.status_code == 200, response.content
    assert cluster.get("apps/v1", "Deployment", "web", "acme--dev")["spec"]["replicas"] == 3
    Deployment.objects.filter(pk=waiting.pk).update(state="applying")
    held = api.post(f"{URL}{deployment.pk}/scale/", {"replicas": 2}, format="json")
    assert held.status_code == 409 and held.json()["code"] == "deployment_in_progress", held.content


def pod_names(cluster) -> set[str]:
    pods, _ = cluster.list("v1", "Pod", "acme--dev", label_selector="paas.dev/application=web")
    return {pod["metadata"]["name"] for pod in pods if not pod["metadata"].get("deletionTimestamp")}


def test_restart_replaces_every_pod(world, api, cluster):
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    before = pod_names(cluster)
    response = api.post(f"{URL}{deployment.pk}/restart/", format="json")
    assert response.status_code == 200, response.content
    template = cluster.get("apps/v1", "Deployment", "web", "acme--dev")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    wait_for(lambda: (names := pod_names(cluster)) and len(names) == 2 and not names & before, timeout=30)
    assert running_release(cluster) == "1"


def test_promote_refuses_a_release_that_never_succeeded_and_promotes_one_that_did(world, api, cluster):
    app = make_app(world.acme)
    crashing = finished(
        deploy(
            api,
            world.user("developer"),
            make_release(app, image="registry.example/web:crash"),
            progress_deadline_seconds=3,
        ).json()["id"]
    )
    staging = world.acme.environments.get(name="staging")
    refused = api.post(f"{URL}{crashing.pk}/promote/", {"environment": staging.pk}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == NOT_SUCCEEDED, refused.content
    assert "has not succeeded in dev" in refused.json()["detail"]

    good = finished(deploy(api, world.user("developer"), make_release(app)).json()["id"])
    response = api.post(f"{URL}{good.pk}/promote/", {"environment": staging.pk}, format="json")
    assert response.status_code == 201, response.content
    promoted = finished(response.json()["id"])
    assert promoted.state == State.SUCCEEDED and promoted.release == good.release
    assert promoted.reason == f"Promoted from dev (deployment {good.pk})"
    assert running_release(cluster, "acme--staging") == str(good.release.number)


def test_remove_deletes_the_applications_cluster_objects(world, api, cluster):
    release = make_release(make_app(world.acme))
    deployment = finished(deploy(api, world.user("developer"), release).json()["id"])
    dev = world.acme.environments.get(name="dev")
    api.as_user(world.user("viewer"))
    assert (
        api.post(
            f"{URL}remove/", {"application": release.application.pk, "environment": dev.pk}, format="json"
        ).status_code
        == 403
    )
    api.as_user(world.user("developer"))
    response = api.post(f"{URL}remove/", {"application": release.application.pk, "environment": dev.pk}, format="json")
    assert response.status_code == 200, response.content
    assert set(response.json()["removed"]) == {"Service/web", "Deployment/web", "ConfigMap/web-env"}
    for api_version, kind, name in (
        ("apps/v1", "Deployment", "web"),
        ("v1", "Service", "web"),
        ("v1", "ConfigMap", "web-env"),
    ):
        assert cluster.get(api_version, kind, name, "acme--dev") is None
    assert deployment.events.order_by("-seq").first().message.startswith("Removed from dev")
    assert AuditEvent.objects.filter(action="application.remove").count() == 1
    # What it occupied is free again, until it is deployed there once more.
    assert usage_of("pods", world.acme, dev) == 0
    finished(deploy(api, world.user("developer"), release).json()["id"])
    assert usage_of("pods", world.acme, dev) == release.replicas


@pytest.fixture
def slow_cluster(world, celery_worker):
    from sandbox import SandboxCluster

    with SandboxCluster(ready_after=3.0) as sandbox:
        registered(world, sandbox)
        yield KubeClient(sandbox.api_client())


def test_cancel_stops_the_observation_of_an_in_flight_deployment(world, api, slow_cluster):
    deployment_id = deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"]
    wait_for(lambda: Deployment.objects.filter(pk=deployment_id, state=State.PROGRESSING).exists(), timeout=30)
    response = api.post(f"{URL}{deployment_id}/cancel/", {"reason": "wrong build"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == State.CANCELLING, response.content
    seq = finished(deployment_id).last_seq
    time.sleep(5)  # longer than the pods take to become ready: nothing more is observed or recorded
    deployment = Deployment.objects.get(pk=deployment_id)
    assert deployment.state == State.CANCELLED and deployment.last_seq == seq
    assert deployment.events.get(seq=seq).state == State.CANCELLED
    assert_gap_free(deployment)
