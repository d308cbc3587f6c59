"""The tenant-wide deployment stream behind the overview and application pages: members get every
deployment event of their tenant; anonymous, foreign and unknown subscriptions are refused."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.core.consumers import CLOSE_UNAUTHENTICATED
from apps.deployments.consumers import CLOSE_NOT_FOUND
from apps.deployments.services import deployment_create
from portal.asgi import application
from tests.sockets import Socket

from .conftest import make_app, make_release

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def _socket(user, slug):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await sync_to_async(_cookie)(user)}".encode()))
    socket = Socket(application, f"/ws/tenants/{slug}/", headers=headers)
    await socket.connect()
    return socket


async def _close_code(user, slug):
    socket = await _socket(user, slug)
    message = await socket.receive_output(timeout=20)
    await socket.disconnect()
    return message.get("code") if message["type"] == "websocket.close" else message


@pytest.mark.parametrize(
    "who, slug, code",
    [
        ("anonymous", "acme", CLOSE_UNAUTHENTICATED),
        ("outsider", "acme", CLOSE_NOT_FOUND),
        ("viewer", "no-such-tenant", CLOSE_NOT_FOUND),
    ],
)
async def test_a_tenant_stream_is_refused_to_anyone_but_its_members(world, who, slug, code):
    user = {"anonymous": None, "outsider": world.outsider, "viewer": world.user("viewer")}[who]
    assert await _close_code(user, slug) == code


async def test_members_receive_their_tenants_deployment_events_and_no_one_elses(world):
    member = await _socket(world.user("viewer"), "acme")
    assert await member.receive_json_from() == {"type": "hello", "tenant": "acme"}
    foreign = await _socket(world.outsider, "globex")
    assert (await foreign.receive_json_from())["type"] == "hello"

    def deploy():
        release = make_release(make_app(world.acme))
        deployment, _ = deployment_create(
            actor=world.principal("developer"), release=release, environment=world.acme.environments.get(name="dev")
        )
        return deployment

    deployment = await sync_to_async(deploy)()
    event = (await member.receive_json_from(timeout=20))["payload"]
    assert (event["deployment"], event["seq"], event["deployment_state"]) == (deployment.pk, 1, "queued")
    assert (event["application"], event["environment"]) == (deployment.application_id, deployment.environment_id)
    assert await foreign.receive_nothing(timeout=0.5)
    await member.disconnect()
    await foreign.disconnect()
