"""Deployments through the real pipeline: HTTP API -> PostgreSQL -> a Celery worker process -> the
sandbox cluster over HTTP -> events, seq by seq."""

import os
import signal
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.clusters.kube import KubeClient
from apps.deployments import pipeline
from apps.deployments.choices import TERMINAL, State
from apps.deployments.consumers import CLOSE_NOT_FOUND
from apps.deployments.models import Deployment
from apps.deployments.tasks import reconcile_deployments
from portal.asgi import application
from tests.conftest import start_worker, wait_for
from tests.sockets import Socket

from .conftest import make_app, make_release, registered

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/deployments/"


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def deploy(api, user, release, environment="dev", **payload):
    api.as_user(user)
    environment = release.tenant.environments.get(name=environment)
    headers = payload.pop("headers", {})
    return api.post(
        URL,
        {"tenant": release.tenant.slug, "release": release.pk, "environment": environment.pk, **payload},
        format="json",
        **headers,
    )


def finished(deployment_id, timeout=40):
    return wait_for(lambda: Deployment.objects.filter(pk=deployment_id, state__in=TERMINAL).first(), timeout=timeout)


def assert_gap_free(deployment):
    seqs = list(deployment.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, deployment.last_seq + 1)), seqs


def states(deployment):
    return list(deployment.events.exclude(state="").order_by("seq").values_list("state", flat=True))


def test_a_good_release_rolls_out_and_succeeds(world, api, cluster):
    release = make_release(make_app(world.acme))
    response = deploy(api, world.user("developer"), release)
    assert response.status_code == 201, response.content
    deployment = finished(response.json()["id"])

    assert deployment.state == State.SUCCEEDED, deployment.outcome
    assert states(deployment) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
    assert_gap_free(deployment)
    assert deployment.events.filter(kind="pod", key__endswith=":ready").count() == 2
    applied = cluster.get("apps/v1", "Deployment", "web", "acme--dev")
    assert applied["metadata"]["labels"]["paas.dev/release"] == str(release.number)

    events = api.get(f"{URL}{deployment.pk}/events/", {"after_seq": 2}).json()
    assert [event["seq"] for event in events] == list(range(3, deployment.last_seq + 1))


def test_a_crash_looping_release_fails_at_its_progress_deadline(world, api, cluster):
    release = make_release(make_app(world.acme), image="registry.example/web:crash")
    response = deploy(api, world.user("developer"), release, progress_deadline_seconds=3)
    deployment = finished(response.json()["id"])
    assert deployment.state == State.FAILED
    assert "3-second progress deadline" in deployment.outcome
    assert deployment.events.filter(kind="pod", key__endswith=":crash-loop").exists()
    assert_gap_free(deployment)


def test_rollback_deploys_the_previous_release(world, api, cluster):
    app = make_app(world.acme)
    good, bad = make_release(app), make_release(app, image="registry.example/web:2-crash")
    assert finished(deploy(api, world.user("developer"), good).json()["id"]).state == State.SUCCEEDED
    failed = finished(deploy(api, world.user("developer"), bad, progress_deadline_seconds=3).json()["id"])
    assert failed.state == State.FAILED

    response = api.post(f"{URL}{failed.pk}/rollback/", {"reason": "v2 crash-loops"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["release"] == good.pk and response.json()["rollback_of"] == failed.pk
    rollback = finished(response.json()["id"])
    assert rollback.state == State.SUCCEEDED and "v2 crash-loops" in rollback.reason
    applied = cluster.get("apps/v1", "Deployment", "web", "acme--dev")
    assert applied["spec"]["template"]["metadata"]["labels"]["paas.dev/release"] == str(good.number)


def test_the_same_idempotency_key_makes_one_deployment(world, api, cluster):
    release = make_release(make_app(world.acme))
    headers = {"headers": {"HTTP_IDEMPOTENCY_KEY": "pipeline-run-77"}}
    first = deploy(api, world.user("developer"), release, **headers)
    again = deploy(api, world.user("developer"), release, headers={"HTTP_IDEMPOTENCY_KEY": "pipeline-run-77"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Deployment.objects.count() == 1
    assert finished(first.json()["id"]).state == State.SUCCEEDED


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def _socket_close_code(user, deployment_id):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await sync_to_async(session_cookie_for)(user)}".encode()))
    socket = Socket(application, f"/ws/deployments/{deployment_id}/", headers=headers)
    await socket.connect()
    message = await socket.receive_output(timeout=20)
    await socket.disconnect()
    return message.get("code") if message["type"] == "websocket.close" else message


async def test_another_tenant_gets_404_and_a_refused_socket(world, api):
    release = await sync_to_async(lambda: make_release(make_app(world.acme)))()
    response = await sync_to_async(deploy)(api, world.user("developer"), release)
    deployment_id = response.json()["id"]

    await sync_to_async(api.as_user)(world.outsider)
    foreign = await sync_to_async(api.get)(f"{URL}{deployment_id}/events/")
    assert foreign.status_code == 404 and foreign.json() == {"code": "not_found", "detail": "Not found."}
    assert await _socket_close_code(world.outsider, deployment_id) == CLOSE_NOT_FOUND
    assert await _socket_close_code(None, deployment_id) == 4401

    socket = Socket(
        application,
        f"/ws/deployments/{deployment_id}/",
        headers=[
            (b"host", b"testserver"),
            (b"origin", b"http://testserver"),
            (b"cookie", f"sessionid={await sync_to_async(session_cookie_for)(world.user('viewer'))}".encode()),
        ],
    )
    assert (await socket.connect())[0]
    assert await socket.receive_json_from() == {"type": "hello", "deployment": deployment_id, "last_seq": 1}
    await socket.disconnect()


@pytest.fixture
def slow_sandbox():
    from sandbox import SandboxCluster

    with SandboxCluster(ready_after=3.0) as cluster:
        yield cluster


@pytest.mark.worker
@pytest.mark.sandbox
def test_a_worker_killed_mid_rollout_is_replaced_and_the_deployment_finishes(world, api, slow_sandbox, tmp_path):
    worker = start_worker(tmp_path / "first.log")
    try:
        registered(world, slow_sandbox)
        release = make_release(make_app(world.acme))
        deployment_id = deploy(api, world.user("developer"), release).json()["id"]
        wait_for(lambda: Deployment.objects.filter(pk=deployment_id, state=State.PROGRESSING).exists(), timeout=30)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()

    replacement = start_worker(tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 90
        while not Deployment.objects.filter(pk=deployment_id, state__in=TERMINAL).exists():
            assert time.monotonic() < deadline, "the deployment never finished after the worker was killed"
            reconcile_deployments.delay()  # what beat does every 30 s
            time.sleep(2)
    finally:
        replacement.terminate()
        replacement.wait(timeout=15)
    deployment = Deployment.objects.get(pk=deployment_id)
    assert deployment.state == State.SUCCEEDED, deployment.outcome
    # Either the replacement ran the look the killed worker held unacknowledged (redelivered: the same
    # attempt), or the reconciler took the stalled row over with a new attempt; both finish it once,
    # well before the pipeline would give up.
    assert deployment.attempts < pipeline.MAX_ATTEMPTS
    assert_gap_free(deployment)
    assert states(deployment) == [State.QUEUED, State.APPLYING, State.PROGRESSING, State.SUCCEEDED]
