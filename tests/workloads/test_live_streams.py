"""The live streams of a workload: /ws/workloads/{id}/logs/ follows its pods' logs from the cluster,
line by line as they are written; /ws/workloads/{id}/ sends the row after every read of the cluster.
Anonymous, foreign and unknown subscriptions are refused as over REST."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.core.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from apps.workloads.models import Workload
from portal.asgi import application
from tests.deployments.conftest import make_app
from tests.sockets import Socket

from .test_workloads import NS, cluster, refreshed, running  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def _socket_headers(user):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await sync_to_async(_cookie)(user)}".encode()))
    return headers


async def _socket(user, path):
    socket = Socket(application, path, headers=await _socket_headers(user))
    await socket.connect()
    return socket


def _workload(world):
    app = make_app(world.acme, name="shop")
    return Workload.objects.create(
        tenant=world.acme, application=app, environment=world.acme.environments.get(name="dev")
    )


async def _lines(socket, wanted, timeout=10):
    """Lines received until one holds `wanted`; every line received."""
    seen = []
    while not any(wanted in line["text"] for line in seen):
        message = await socket.receive_json_from(timeout=timeout)
        assert message["type"] == "lines", message
        seen.extend(message["lines"])
    return seen


@pytest.mark.parametrize("suffix", ["", "logs/"])
@pytest.mark.parametrize("who, code", [("anonymous", CLOSE_UNAUTHENTICATED), ("outsider", CLOSE_NOT_FOUND)])
async def test_a_workload_stream_is_refused_to_anyone_but_its_tenants_members(world, who, code, suffix):
    workload = await sync_to_async(_workload)(world)
    user = {"anonymous": None, "outsider": world.outsider}[who]
    socket = await _socket(user, f"/ws/workloads/{workload.pk}/{suffix}")
    message = await socket.receive_output(timeout=20)
    assert (message["type"], message["code"]) == ("websocket.close", code)
    socket = await _socket(world.user("viewer"), f"/ws/workloads/{workload.pk + 1000}/{suffix}")
    assert (await socket.receive_output(timeout=20))["code"] == CLOSE_NOT_FOUND


async def test_the_log_stream_sends_each_pods_lines_and_then_each_new_line_as_it_is_written(world, running, sandbox):  # noqa: F811
    pods = sorted(pod["name"] for pod in running.pods)
    socket = await _socket(world.user("viewer"), f"/ws/workloads/{running.pk}/logs/")
    assert await socket.receive_json_from(timeout=20) == {"type": "hello", "workload": running.pk}
    opening = []
    while {line["pod"] for line in opening} != set(pods):
        opening.extend((await socket.receive_json_from(timeout=10))["lines"])
    assert all("started from registry.example/web:1.0" in line["text"] for line in opening)

    await sync_to_async(sandbox.write_log)(NS, pods[1], "GET /checkout 200 in 12 ms")
    [line] = await _lines(socket, "GET /checkout")
    assert (line["pod"], line["text"]) == (pods[1], "GET /checkout 200 in 12 ms")
    assert line["at"].endswith("Z"), "each line carries the time the cluster says it was written"
    await socket.disconnect()


async def test_the_row_stream_sends_the_row_after_each_read_of_the_cluster(world, running, cluster):  # noqa: F811
    socket = await _socket(world.user("viewer"), f"/ws/workloads/{running.pk}/")
    hello = await socket.receive_json_from(timeout=20)
    assert (hello["type"], hello["workload"]["id"], hello["workload"]["health"]) == ("hello", running.pk, "healthy")
    await sync_to_async(cluster.patch)("apps/v1", "Deployment", "web", NS, {"spec": {"replicas": 3}})
    await sync_to_async(refreshed)(running)
    message = await socket.receive_json_from(timeout=10)
    assert message["type"] == "workload"
    assert (message["workload"]["replicas"], message["workload"]["sync"]) == (3, "out_of_sync")
    await socket.disconnect()


async def test_a_user_holds_only_so_many_log_streams_open_at_once(world, settings):
    """Each log stream follows every pod with a thread and a connection to the cluster."""
    settings.WORKLOAD_LOG_STREAMS_PER_USER = 2
    workload = await sync_to_async(_workload)(world)
    path = f"/ws/workloads/{workload.pk}/logs/"
    first, second = await _socket(world.user("viewer"), path), await _socket(world.user("viewer"), path)
    for socket in (first, second):
        assert (await socket.receive_json_from(timeout=20))["type"] == "hello"
    refused = Socket(application, path, headers=(await _socket_headers(world.user("viewer"))))
    assert (await refused.connect())[0] is False
    other = await _socket(world.user("developer"), path)  # another user's count is their own
    assert (await other.receive_json_from(timeout=20))["type"] == "hello"
    await first.disconnect()
    again = await _socket(world.user("viewer"), path)
    assert (await again.receive_json_from(timeout=20))["type"] == "hello"
    for socket in (second, other, again):
        await socket.disconnect()


async def test_a_log_stream_gives_its_place_back_when_it_closes_during_a_crash_loop(world, running, cluster, settings):  # noqa: F811
    """Between a crash and the next start a pod's follow waits with its last read ended: closing the
    stream then still gives the user's place back, so leaving a crash-looping workload's page does not
    use the places up until no log opens anywhere."""
    settings.WORKLOAD_LOG_STREAMS_PER_USER = 1
    containers = [{"name": "web", "image": "registry.example/web:crash"}]
    patch = {"spec": {"template": {"spec": {"containers": containers}}}}
    await sync_to_async(cluster.patch)("apps/v1", "Deployment", "web", NS, patch)
    path = f"/ws/workloads/{running.pk}/logs/"
    for _ in range(3):
        socket = await _socket(world.user("viewer"), path)
        assert (await socket.receive_json_from(timeout=20))["type"] == "hello", "a place was not given back"
        await _lines(socket, "exited with code 1", timeout=20)
        await asyncio.sleep(1.5)  # the read ended; the follow waits for the container to start again
        await socket.disconnect()
