"""The live stream of a build's log (/ws/builds/{id}/): members of the build's tenant get each new line
with its seq; anonymous, foreign and unknown subscriptions are refused as over REST."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.builds.consumers import CLOSE_NOT_FOUND
from apps.builds.models import Build
from apps.builds.services import log_append
from apps.core.consumers import CLOSE_UNAUTHENTICATED
from portal.asgi import application
from tests.deployments.conftest import make_app
from tests.sockets import Socket

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def _socket(user, build_id):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await sync_to_async(_cookie)(user)}".encode()))
    socket = Socket(application, f"/ws/builds/{build_id}/", headers=headers)
    await socket.connect()
    return socket


def _build(tenant):
    app = make_app(tenant, name="shop")
    return Build.objects.create(tenant=tenant, application=app, tag="v1", image="registry.test/acme/shop")


@pytest.mark.parametrize("who, code", [("anonymous", CLOSE_UNAUTHENTICATED), ("outsider", CLOSE_NOT_FOUND)])
async def test_a_build_stream_is_refused_to_anyone_but_its_tenants_members(world, who, code):
    build = await sync_to_async(_build)(world.acme)
    user = {"anonymous": None, "outsider": world.outsider}[who]
    socket = await _socket(user, build.pk)
    message = await socket.receive_output(timeout=20)
    assert message["type"] == "websocket.close"
    assert message["code"] == code
    socket = await _socket(world.user("viewer"), build.pk + 1000)
    assert (await socket.receive_output(timeout=20))["code"] == CLOSE_NOT_FOUND


async def test_members_receive_each_new_line_with_its_seq(world):
    build = await sync_to_async(_build)(world.acme)
    await sync_to_async(log_append)(build, ["before the page opened"])
    socket = await _socket(world.user("viewer"), build.pk)
    assert await socket.receive_json_from() == {"type": "hello", "build": build.pk, "last_seq": 1, "state": "queued"}
    await sync_to_async(log_append)(build, ["Step 1/2 : FROM scratch", "Step 2/2 : COPY busybox /bin/sh"])
    message = await socket.receive_json_from(timeout=20)
    assert message["type"] == "event"
    payload = message["payload"]
    assert (payload["build"], payload["seq"], payload["state"]) == (build.pk, 3, "queued")
    assert [(line["seq"], line["text"]) for line in payload["lines"]] == [
        (2, "Step 1/2 : FROM scratch"),
        (3, "Step 2/2 : COPY busybox /bin/sh"),
    ]
    await socket.disconnect()
