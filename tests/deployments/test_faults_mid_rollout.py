"""Faults in the middle of a rolling update (issue 14, Tests), through the real parts: a Celery worker
process on a redis-server of the test's own, the sandbox cluster over HTTP, and its fault injection.

Each test rolls two applications from release 1 (2 pods) to release 2 (4 pods), strikes while both
rollouts run, and then checks that every deployment ended in a state the cluster bears out, read back
with the official kubernetes client, with events 1, 2, 3 ... once each. Beat's reconciler runs every
2 s instead of 30 s, and deadlines are seconds, so the whole file takes a few minutes. Each test
prints one summary line per deployment (run with -s to see them).
"""

import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from apps.clusters.services import cluster_register
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from apps.deployments.tasks import run_deployment
from tests.conftest import wait_for

from .conftest import make_app, make_release
from .test_reliability import RedisServer, Supervised, assert_recorded_once, finish, producer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]

APPS = ("web", "api")
# Slow, uneven pods: a rollout of 4 pods at maxSurge 25 % takes several seconds, so a fault lands inside it.
READY_AFTER, READY_SPREAD = 1.5, 1.0


@dataclass
class Stage:
    world: object
    sandbox: object
    redis: RedisServer
    worker: Supervised

    def deploy(self, number: int, *, deadline: int) -> list[Deployment]:
        """Release `number` of every app (2 pods for the first, 4 after), queued and sent to the worker."""
        dev = self.world.acme.environments.get(name="dev")
        deployments = []
        for name in APPS:
            app = make_app(self.world.acme, name)
            release = app.releases.filter(number=number).first() or make_release(
                app, image=f"registry.example/{name}:{number}.0", replicas=2 if number == 1 else 4
            )
            deployment, _ = deployment_create(
                actor=self.world.principal("developer"),
                release=release,
                environment=dev,
                progress_deadline_seconds=deadline,
            )
            with producer(self.redis.url) as p:
                run_deployment.apply_async((deployment.pk, deployment.attempts), producer=p)
            deployments.append(deployment)
        return deployments

    def finish(self, deployments, timeout=90) -> list[Deployment]:
        finish([d.pk for d in deployments], self.redis.url, self.worker, timeout=timeout)
        return [Deployment.objects.select_related("release", "environment").get(pk=d.pk) for d in deployments]

    def rolling(self, deployments) -> None:
        """Wait until every deployment is progressing, and prove the cluster is mid-rollout: old pods run."""
        pks = [d.pk for d in deployments]
        wait_for(lambda: Deployment.objects.filter(pk__in=pks, state=State.PROGRESSING).count() == len(pks), 30)
        for deployment in deployments:
            found = self.apps().read_namespaced_deployment(deployment.release.application.name, "acme--dev")
            assert (found.status.updated_replicas or 0) < (found.status.replicas or 0) or (
                found.status.ready_replicas or 0
            ) < found.spec.replicas, f"{deployment.pk} was not mid-rollout when the fault struck"

    def apps(self):
        return client.AppsV1Api(self.sandbox.api_client())

    def core(self):
        return client.CoreV1Api(self.sandbox.api_client())


@contextmanager
def stage(world, tmp_path, **worker_env):
    """The sandbox, a redis-server of the test's own, a worker on it, and release 1 live for every app."""
    from sandbox import SandboxCluster

    redis = RedisServer(tmp_path)
    redis.start()
    env = {"REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url, "DEPLOYMENT_RETRY_MAX_SECONDS": "1.0"}
    try:
        with SandboxCluster(ready_after=READY_AFTER, ready_spread=READY_SPREAD) as sandbox:
            supervised = Supervised(tmp_path, **env, **worker_env)
            try:
                cluster_register(
                    operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url
                )
                here = Stage(world, sandbox, redis, supervised)
                first = here.finish(here.deploy(1, deadline=60))
                assert [d.state for d in first] == [State.SUCCEEDED] * len(APPS), [d.outcome for d in first]
                yield here
            finally:
                supervised.stop()
    finally:
        if redis.proc.poll() is None:
            redis.stop()


def cluster_truth(here: Stage, deployment: Deployment) -> str:
    """What the cluster runs for the deployment's app, checked against what the deployment says."""
    name, namespace = deployment.release.application.name, deployment.environment.namespace
    found = here.apps().read_namespaced_deployment(name, namespace)
    pods = here.core().list_namespaced_pod(namespace, label_selector=f"paas.dev/application={name}").items
    image = found.spec.template.spec.containers[0].image
    status = found.status
    counts = (status.updated_replicas, status.ready_replicas, status.available_replicas, status.replicas)
    if deployment.state == State.SUCCEEDED:
        release = deployment.release
        assert image == release.image, (deployment.pk, image)
        assert found.spec.replicas == release.replicas and counts == (release.replicas,) * 4, (deployment.pk, counts)
        assert {(p.metadata.labels["paas.dev/release"], p.spec.containers[0].image) for p in pods} == {
            (str(release.number), release.image)
        }, f"{deployment.pk}: old pods still run"
        assert len(pods) == release.replicas
    return f"cluster image {image.rsplit('/', 1)[-1]} {status.ready_replicas}/{found.spec.replicas} ready"


def report(fault: str, here: Stage, deployments) -> None:
    for deployment in deployments:
        assert_recorded_once(deployment)
        truth = cluster_truth(here, deployment)
        said = deployment.state + (f" ({deployment.outcome})" if deployment.state != State.SUCCEEDED else "")
        print(f"{fault}: deployment {deployment.pk} {said}, {truth}, events 1..{deployment.last_seq} gap-free")


def test_redis_paused_mid_rollout(world, tmp_path):
    with stage(world, tmp_path) as here:
        rolling = here.deploy(2, deadline=60)
        here.rolling(rolling)
        started = time.monotonic()
        os.kill(here.redis.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(16)
        finally:
            os.kill(here.redis.proc.pid, signal.SIGCONT)
        paused = time.monotonic() - started
        done = here.finish(rolling)
        assert [d.state for d in done] == [State.SUCCEEDED] * len(APPS), [d.outcome for d in done]
        report(f"redis paused {paused:.0f} s", here, done)


def test_redis_stopped_and_restarted_mid_rollout(world, tmp_path):
    with stage(world, tmp_path) as here:
        rolling = here.deploy(2, deadline=60)
        here.rolling(rolling)
        started = time.monotonic()
        here.redis.stop()
        time.sleep(6)
        here.redis.start()
        stopped = time.monotonic() - started
        done = here.finish(rolling)
        assert [d.state for d in done] == [State.SUCCEEDED] * len(APPS), [d.outcome for d in done]
        report(f"redis stopped {stopped:.0f} s and restarted", here, done)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited


def test_worker_main_process_killed_mid_rollout(world, tmp_path):
    with stage(world, tmp_path, concurrency=2) as here:
        rolling = here.deploy(2, deadline=60)
        here.rolling(rolling)
        main = here.worker.proc
        pool = _children(main.pid)
        assert len(pool) == 2, pool
        os.kill(main.pid, signal.SIGKILL)
        main.wait(timeout=10)
        wait_for(lambda: all(_gone(pid) for pid in pool), timeout=15)  # the pool does not outlive its parent
        here.worker.ensure()  # what a supervisor does: a new worker
        assert here.worker.starts == 2
        done = here.finish(rolling)
        assert [d.state for d in done] == [State.SUCCEEDED] * len(APPS), [d.outcome for d in done]
        assert all(d.attempts >= 2 for d in done)  # the reconciler took the rows over from the dead worker
        report(f"worker main process killed (pid {main.pid}), new worker started", here, done)


def waiting_out(pks) -> int:
    """How many of these deployments have recorded that they wait out the first cluster outage."""
    return Deployment.objects.filter(pk__in=pks, events__key="outage:1:waiting").distinct().count()


def test_cluster_down_for_less_than_the_deadline(world, tmp_path):
    with stage(world, tmp_path) as here:
        # The deadline is well beyond the outage, so that on a busy machine the rollout's own remaining
        # steps after the outage fit inside it too; the outage still spans several retries.
        rolling = here.deploy(2, deadline=45)
        here.rolling(rolling)
        # Open watches end with the outage, as a real API server's do when it goes away, so every look
        # at the rollout goes through the failing API.
        here.sandbox.inject_faults(error_rate=1.0, drop_watches=True)
        started = time.monotonic()
        # The outage lasts until every deployment has met it (a busy machine may run a look late), and
        # at least 10 s, which spans several retries.
        pks = [d.pk for d in rolling]
        wait_for(lambda: waiting_out(pks) == len(pks), 30)
        time.sleep(max(0.0, 10 - (time.monotonic() - started)))
        here.sandbox.clear_faults()
        done = here.finish(rolling, timeout=120)
        assert [d.state for d in done] == [State.SUCCEEDED] * len(APPS), [d.outcome for d in done]
        report("cluster 100 % 500s for 10 s or more, deadline 45 s", here, done)


def test_cluster_down_for_longer_than_the_deadline(world, tmp_path):
    with stage(world, tmp_path) as here:
        rolling = here.deploy(2, deadline=6)
        here.rolling(rolling)
        here.sandbox.inject_faults(error_rate=1.0)
        try:
            done = here.finish(rolling, timeout=30)
        finally:
            here.sandbox.clear_faults()
        assert [d.state for d in done] == [State.FAILED] * len(APPS)
        for deployment in done:
            assert "was unreachable for" in deployment.outcome and "refused" not in deployment.outcome
        report("cluster 100 % 500s past the 6 s deadline", here, done)
