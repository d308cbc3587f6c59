"""WebSocket streams authenticated by an API key (portalctl's way in): the key's own tenant only,
bad keys closed with 4401, and no Origin header needed when, and only when, a key is sent."""

import pytest
from asgiref.sync import sync_to_async

from apps.core.consumers import CLOSE_UNAUTHENTICATED
from apps.deployments.consumers import CLOSE_NOT_FOUND
from apps.deployments.services import deployment_create
from apps.tenants.models import Membership
from portal.asgi import application
from tests.deployments.conftest import make_app, make_release
from tests.sockets import Socket

pytestmark = pytest.mark.django_db(transaction=True)


def _deploy(world, tenant="acme"):
    home = getattr(world, tenant)
    release = make_release(make_app(home))
    deployment, _ = deployment_create(
        actor=world.principal("developer", tenant), release=release, environment=home.environments.get(name="dev")
    )
    return deployment


async def _first_message(path, key=None, origin=None):
    headers = [(b"host", b"testserver")]
    if key is not None:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    socket = Socket(application, path, headers=headers)
    connected, _ = await socket.connect()
    if not connected:
        return "denied"
    message = await socket.receive_output(timeout=20)  # generous: a busy machine is slow, not wrong
    await socket.disconnect()
    if message["type"] == "websocket.close":
        return message.get("code")
    return message


async def test_a_key_opens_the_stream_of_its_own_tenants_deployment_without_an_origin(world):
    deployment = await sync_to_async(_deploy)(world)
    key = await sync_to_async(world.key)("viewer")
    message = await _first_message(f"/ws/deployments/{deployment.pk}/", key)
    assert '"type": "hello"' in message["text"] and f'"deployment": {deployment.pk}' in message["text"]


async def test_a_key_is_refused_another_tenants_deployment_as_if_it_did_not_exist(world):
    deployment = await sync_to_async(_deploy)(world, "globex")
    key = await sync_to_async(world.key)("owner")
    assert await _first_message(f"/ws/deployments/{deployment.pk}/", key) == CLOSE_NOT_FOUND
    assert await _first_message("/ws/tenants/globex/", key) == CLOSE_NOT_FOUND


async def test_a_key_reaches_only_its_own_tenant_even_when_its_owner_belongs_to_both(world):
    deployment = await sync_to_async(_deploy)(world, "globex")
    developer = world.user("developer")
    await sync_to_async(Membership.objects.create)(tenant=world.globex, user=developer, role="developer")
    acme_key = await sync_to_async(world.key)("developer")  # the same user, a key of acme
    assert await _first_message(f"/ws/deployments/{deployment.pk}/", acme_key) == CLOSE_NOT_FOUND


@pytest.mark.parametrize("key", ["pk_nosuchkey_0000000000000000000000000000", "garbage", ""])
async def test_a_bad_key_is_closed_as_unauthenticated(world, key):
    deployment = await sync_to_async(_deploy)(world)
    assert await _first_message(f"/ws/deployments/{deployment.pk}/", key) == CLOSE_UNAUTHENTICATED


async def test_a_revoked_key_is_closed_as_unauthenticated(world):
    from apps.apikeys.models import APIKey

    deployment = await sync_to_async(_deploy)(world)
    key = await sync_to_async(world.key)("developer")
    await sync_to_async(lambda: APIKey.objects.update(revoked_at=deployment.created_at))()
    assert await _first_message(f"/ws/deployments/{deployment.pk}/", key) == CLOSE_UNAUTHENTICATED


async def test_without_a_key_a_missing_or_foreign_origin_is_still_refused(world):
    deployment = await sync_to_async(_deploy)(world)
    assert await _first_message(f"/ws/deployments/{deployment.pk}/") == "denied"
    key = await sync_to_async(world.key)("developer")
    assert await _first_message(f"/ws/deployments/{deployment.pk}/", key, origin="http://evil.example") == "denied"


async def test_the_personal_live_socket_is_not_open_to_keys(world):
    key = await sync_to_async(world.key)("owner")
    assert await _first_message("/ws/live/", key) == CLOSE_UNAUTHENTICATED


async def _open(path, *, key=None, cookie=None):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if key is not None:
        headers = [(b"host", b"testserver"), (b"authorization", f"Bearer {key}".encode())]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    socket = Socket(application, path, headers=headers)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=20))["type"] == "hello"
    return socket


async def test_an_open_stream_closes_when_its_key_is_revoked_and_the_users_other_key_stays(world):
    """What a socket may see was decided only at its handshake: a revoked key's stream went on."""
    from apps.apikeys import keys
    from apps.apikeys.models import APIKey
    from apps.apikeys.services import apikey_revoke
    from apps.core.realtime import broadcast, deployment_group

    deployment = await sync_to_async(_deploy)(world)
    leaked, kept = await sync_to_async(world.key)("developer"), await sync_to_async(world.key)("developer")
    path = f"/ws/deployments/{deployment.pk}/"
    revoked_socket, kept_socket = await _open(path, key=leaked), await _open(path, key=kept)

    def revoke():
        apikey_revoke(actor=world.principal("developer"), api_key=APIKey.objects.get(lookup=keys.parse(leaked)))

    await sync_to_async(revoke)()
    closed = await revoked_socket.receive_output(timeout=20)
    assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_UNAUTHENTICATED
    await sync_to_async(broadcast)(deployment_group(deployment.pk), {"seq": 99})
    assert (await kept_socket.receive_json_from(timeout=20))["payload"] == {"seq": 99}
    await kept_socket.disconnect()


async def test_an_open_tenant_stream_closes_when_its_member_is_removed(world):
    from django.test import Client

    from apps.tenants.services import member_remove

    def cookie(user):
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    viewer = world.user("viewer")
    socket = await _open("/ws/tenants/acme/", cookie=await sync_to_async(cookie)(viewer))
    membership = await sync_to_async(Membership.objects.get)(tenant=world.acme, user=viewer)
    await sync_to_async(member_remove)(actor=world.principal("owner"), membership=membership)
    closed = await socket.receive_output(timeout=20)
    assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_NOT_FOUND


async def test_a_keys_tenant_stream_carries_only_the_events_its_scopes_read(world):
    """Over REST a key without approvals:read or addons:read sees no change request or add-on; the
    tenant's stream, which carries those too, holds it to the same."""
    from apps.core.realtime import broadcast, tenant_group

    narrow = await sync_to_async(world.key)("developer", scopes=["tenant:read", "deployments:read"])
    wide = await sync_to_async(world.key)("developer", scopes=["tenant:read", "deployments:read", "approvals:read"])
    sockets = {name: await _open("/ws/tenants/acme/", key=key) for name, key in (("narrow", narrow), ("wide", wide))}
    for payload in (
        {"type": "change_request.updated", "change_request": 1},
        {"type": "service_instance", "id": 1},
        {"type": "something new", "id": 1},
        {"type": "deployment.event", "seq": 1},
    ):
        await sync_to_async(broadcast)(tenant_group(world.acme.pk), payload)
    received = {name: [] for name in sockets}
    for name, socket in sockets.items():
        while not await socket.receive_nothing(timeout=1):
            received[name].append((await socket.receive_json_from())["payload"]["type"])
        await socket.disconnect()
    assert received == {"narrow": ["deployment.event"], "wide": ["change_request.updated", "deployment.event"]}


def test_the_web_process_closes_a_socket_sending_more_than_a_ping(world, image_web):
    """A client sends a stream nothing but pings; the image's web process closes a socket that sends
    a large frame (1009) before decoding it, where 16 MiB frames held the event loop for every request."""
    import json

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    base = image_web().replace("http://", "ws://")
    key = world.key("viewer", scopes=["tenant:read", "deployments:read"])
    with connect(f"{base}/ws/tenants/acme/", additional_headers={"Authorization": f"Bearer {key}"}) as socket:
        assert json.loads(socket.recv(timeout=20))["type"] == "hello"
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=20)) == {"type": "pong"}
        socket.send(json.dumps({"type": "ping", "padding": "x" * 100_000}))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_frames_other_than_pings_are_ignored_and_the_stream_goes_on(world):
    key = await sync_to_async(world.key)("viewer", scopes=["tenant:read", "deployments:read"])
    socket = await _open("/ws/tenants/acme/", key=key)
    for frame in ({"text": "not json"}, {"text": "[1, 2]"}, {"text": '"ping"'}, {"bytes": b"\x00"}):
        await socket.send_input({"type": "websocket.receive", **frame})
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=20) == {"type": "pong"}
    await socket.disconnect()
