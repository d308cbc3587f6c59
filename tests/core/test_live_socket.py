"""The live WebSocket: only signed-in users from allowed origins connect, and broadcasts reach them."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.core.consumers import CLOSE_UNAUTHENTICATED
from apps.core.realtime import broadcast, user_group
from portal.asgi import application
from tests.sockets import Socket

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def communicator(*, origin="http://testserver", session=None):
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return Socket(application, "/ws/live/", headers=headers)


async def test_signed_in_user_connects_and_receives_their_events(developer):
    session = await sync_to_async(session_cookie_for)(developer)
    socket = communicator(session=session)
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_json_from() == {"type": "hello", "user": developer.email}

    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}

    await sync_to_async(broadcast)(user_group(developer.pk), {"kind": "test", "n": 1})
    assert await socket.receive_json_from(timeout=20) == {"type": "event", "payload": {"kind": "test", "n": 1}}
    await socket.disconnect()


async def test_events_for_another_user_do_not_arrive(developer, outsider):
    session = await sync_to_async(session_cookie_for)(developer)
    socket = communicator(session=session)
    await socket.connect()
    await socket.receive_json_from()
    await sync_to_async(broadcast)(user_group(outsider.pk), {"secret": True})
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_anonymous_socket_is_closed_with_the_unauthenticated_code():
    socket = communicator()
    connected, _ = await socket.connect()
    assert connected  # accepted only to deliver the close code the page acts on
    closed = await socket.receive_output(timeout=20)
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED, "reason": ""} or (
        closed["type"] == "websocket.close" and closed["code"] == CLOSE_UNAUTHENTICATED
    )


async def test_foreign_origin_is_refused(developer):
    session = await sync_to_async(session_cookie_for)(developer)
    socket = communicator(origin="https://evil.example.org", session=session)
    connected, _ = await socket.connect()
    assert not connected


@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver:8081",  # another program on the portal's host: cookies are not kept apart by port
        "https://testserver:8443",
        "http://localhost",  # an allowed host, but not the one the socket was opened on
        "http://testserver:notaport",
    ],
)
async def test_a_page_on_another_port_or_host_of_the_portals_machine_is_refused(developer, origin):
    session = await sync_to_async(session_cookie_for)(developer)
    socket = communicator(origin=origin, session=session)
    connected, _ = await socket.connect()
    assert not connected


async def test_the_portals_own_origin_behind_tls_and_a_trusted_origin_connect(developer, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.portal.example"]
    session = await sync_to_async(session_cookie_for)(developer)
    for origin in ("https://testserver", "https://console.portal.example"):
        socket = communicator(origin=origin, session=session)
        connected, _ = await socket.connect()
        assert connected, origin
        assert await socket.receive_json_from() == {"type": "hello", "user": developer.email}
        await socket.disconnect()
