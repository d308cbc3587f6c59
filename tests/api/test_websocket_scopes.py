"""Every WebSocket stream holds a key to the scopes of the REST endpoint it mirrors (issue 12, item 6: a key
with only tenant:read received every deployment event of its tenant on /ws/tenants/{slug}/ while
GET /api/v1/deployments/ answered 403 missing_scope). The streams are found from the routing itself, so a
new consumer is covered the day it is routed."""

import re

import pytest
from asgiref.sync import sync_to_async

from apps.apikeys.websocket import CLOSE_MISSING_SCOPE, KeyScopedStream
from apps.builds.models import Build
from apps.catalog.models import Application
from apps.core.consumers import CLOSE_UNAUTHENTICATED
from apps.tenants.roles import ALL_SCOPES, Role, scopes_for_role
from apps.workloads.models import Workload
from portal.routing import websocket_urlpatterns
from tests.api.test_websocket_keys import _deploy, _first_message

pytestmark = pytest.mark.django_db(transaction=True)


def _streams():
    """(route, consumer class) of every routed WebSocket consumer."""
    return [(route, route.callback.consumer_class) for route in websocket_urlpatterns]


def _path(route, values: dict) -> str:
    # A new route parameter needs a value in _values(); the KeyError names it.
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), str(route.pattern))


def _build(world):
    application, _ = Application.objects.get_or_create(tenant=world.acme, name="built")
    return Build.objects.create(tenant=world.acme, application=application, tag="t", image="registry.test/acme/built")


def _workload(world):
    application, _ = Application.objects.get_or_create(tenant=world.acme, name="running")
    environment = world.acme.environments.get(name="dev")
    return Workload.objects.create(tenant=world.acme, application=application, environment=environment)


async def _values(world) -> dict:
    deployment = await sync_to_async(_deploy)(world)
    build = await sync_to_async(_build)(world)
    workload = await sync_to_async(_workload)(world)
    return {"deployment_id": deployment.pk, "build_id": build.pk, "tenant_slug": "acme", "workload_id": workload.pk}


def _without(resource: str) -> list[str]:
    return [scope for scope in scopes_for_role(Role.OWNER) if not scope.startswith(f"{resource}:")]


@pytest.mark.parametrize("route,consumer", _streams(), ids=lambda value: getattr(value, "__name__", str(value)))
async def test_a_key_without_a_streams_scope_is_refused_like_the_rest_endpoint(world, route, consumer):
    path = _path(route, await _values(world))
    scopes = getattr(consumer, "stream_scopes", ())
    if not issubclass(consumer, KeyScopedStream) or not scopes:
        # A stream that names no scope is not for keys at all (the user's personal live socket).
        key = await sync_to_async(world.key)(Role.OWNER)
        assert await _first_message(path, key) == CLOSE_UNAUTHENTICATED
        return
    for resource, verb in scopes:
        assert f"{resource}:{verb}" in ALL_SCOPES
        key = await sync_to_async(world.key)(Role.OWNER, scopes=_without(resource))
        assert await _first_message(path, key) == CLOSE_MISSING_SCOPE, resource
    allowed = await sync_to_async(world.key)(Role.VIEWER, scopes=[f"{resource}:{verb}" for resource, verb in scopes])
    message = await _first_message(path, allowed)
    assert isinstance(message, dict) and '"type": "hello"' in message["text"]


async def test_a_tenant_read_key_gets_no_deployment_events_and_rest_agrees(world, api):
    key = await sync_to_async(world.key)(Role.OWNER, scopes=["tenant:read"])
    response = await sync_to_async(lambda: api.with_key(key).get("/api/v1/deployments/"))()
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    assert await _first_message("/ws/tenants/acme/", key) == CLOSE_MISSING_SCOPE


async def test_sessions_are_held_by_their_role_not_by_scopes(world):
    """The browser's way in is unchanged: a signed-in viewer opens the tenant stream (Origin checked)."""
    from django.test import Client

    from portal.asgi import application
    from tests.sockets import Socket

    client = Client()
    await sync_to_async(client.force_login)(world.user(Role.VIEWER))
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = Socket(
        application,
        "/ws/tenants/acme/",
        headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)],
    )
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=20))["type"] == "hello"
    await socket.disconnect()
