"""The portal as a platform team runs it: several web and worker processes sharing one database and
one Redis. Sessions, the channel layer and the deployment's event record all live there, so a page
follows a deployment sent through another web process, and survives its own web process being killed
mid-stream: the socket reconnects (through the load balancer) to the other one and replays by seq."""

import contextlib
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading

import pytest
import requests
from django.conf import settings
from playwright.sync_api import expect

from apps.deployments.choices import TERMINAL
from apps.deployments.models import Deployment
from tests.conftest import BASE_DIR, child_database_url, free_port, start_worker, wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.e2e.test_deploy_journey import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.server, pytest.mark.worker]


@pytest.fixture
def sandbox_options():
    return {"ready_after": 2.0}  # slow enough pods that the page is mid-stream when its server dies


def serve(log_path) -> tuple[subprocess.Popen, str]:
    """One web process as production runs it (uvicorn, the ASGI application), on a port of its own."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": child_database_url(),
        "TEST_REDIS_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [*argv, "--lifespan", "off", "--no-access-log"], cwd=BASE_DIR, env=env, stdout=out, stderr=out
        )
    return proc, f"http://127.0.0.1:{port}"


def answering(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).ok
    except requests.RequestException:
        return False


class Balancer(socketserver.ThreadingTCPServer):
    """A TCP load balancer in front of the web processes: new connections go to the backend it points
    at, as a real one's go to the endpoints that pass their health checks."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, backend: int):
        self.backend = backend
        super().__init__(("127.0.0.1", 0), _Pipe)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.server.backend), timeout=5)
        except OSError:
            return
        upstream.settimeout(None)

        def pump(source, sink):
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for end in (source, sink):
                    with contextlib.suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join(timeout=5)
        upstream.close()


@pytest.fixture
def platform(tmp_path, transactional_db):
    """Two web processes behind a balancer pointing at the second, and two worker processes."""
    webs = [serve(tmp_path / f"web-{i}.log") for i in range(2)]
    workers = [start_worker(tmp_path / f"worker-{i}.log") for i in range(2)]
    for _, base in webs:
        wait_for(lambda base=base: answering(base), timeout=60, interval=0.2)
    balancer = Balancer(backend=int(webs[1][1].rsplit(":", 1)[1]))
    threading.Thread(target=balancer.serve_forever, daemon=True).start()
    yield webs, balancer
    balancer.shutdown()
    balancer.server_close()
    for proc in [proc for proc, _ in webs] + workers:
        if proc.poll() is None:
            proc.terminate()
    for proc in [proc for proc, _ in webs] + workers:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_deploy_sent_through_one_web_process_streams_through_another_that_dies_without_losing_an_event(
    page, world, sandbox, platform
):
    (first, first_url), (second, second_url) = platform[0]
    balancer = platform[1]
    registered(world, sandbox)
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0", replicas=4)

    # The deploy goes through the first web process, by API key.
    response = requests.post(
        f"{first_url}/api/v1/deployments/",
        json={"tenant": "acme", "release": release.number, "application": "shop", "environment": "dev"},
        headers={"Authorization": f"Bearer {world.key('developer')}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    deployment_id = response.json()["id"]

    # The page signs in and follows it through the balancer, which points at the second.
    sign_in(page, balancer.url, world.user("developer").email)
    page.goto(f"{balancer.url}/t/acme/deployments/{deployment_id}/")
    page.evaluate("window.stillTheSamePage = true")
    rows = page.locator("#events tbody tr")
    wait_for(lambda: rows.count() >= 2, timeout=60, interval=0.2)

    # Its web process dies mid-stream; the balancer sends new connections to the first.
    assert Deployment.objects.get(pk=deployment_id).state not in TERMINAL, "the rollout ended before the kill"
    seen_before_the_kill = rows.count()
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=10)
    balancer.backend = int(first_url.rsplit(":", 1)[1])
    assert not answering(second_url)

    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=90000)
    deployment = Deployment.objects.get(pk=deployment_id)
    expect(rows).to_have_count(deployment.last_seq)
    assert deployment.last_seq > seen_before_the_kill, "events came after the kill, through the other process"
    seqs = [int(s) for s in rows.evaluate_all("rows => rows.map(r => r.dataset.seq)")]
    assert seqs == list(range(1, deployment.last_seq + 1)), "every event once, in order"
    assert page.evaluate("window.stillTheSamePage") is True, "the page reconnected; it did not reload"
    # The session the second web process signed in is good on the first: it lives in the database.
    page.goto(f"{balancer.url}/t/acme/deployments/")
    expect(page).to_have_url(f"{balancer.url}/t/acme/deployments/")
