"""The WebSocket stream of one build's log."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.apikeys.websocket import KeyScopedStream, socket_principal
from apps.core.consumers import CLOSE_UNAUTHENTICATED
from apps.core.realtime import build_group
from apps.tenants.roles import READ

from .models import Build

# A build the user may not see is, as over HTTP, indistinguishable from a missing one.
CLOSE_NOT_FOUND = 4404


class BuildConsumer(KeyScopedStream, AsyncJsonWebsocketConsumer):
    """Forwards every new batch of log lines of one build, each line with its seq, to a page that may view
    the build. Authorized with the same restricted queryset and key scope (builds:read) as the REST API.
    The hello message carries the last seq stored, so a page that rendered earlier knows at once whether
    it missed lines (it then asks GET /api/v1/builds/{id}/log/?after_seq=N)."""

    stream_scopes = (("builds", READ),)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        build_id = int(self.scope["url_route"]["kwargs"]["build_id"])
        found = await self._build(socket_principal(self.scope), build_id)
        if found is None:
            await self._refuse(CLOSE_NOT_FOUND)
            return
        self.group = build_group(build_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        last_seq, state = found
        await self.send_json({"type": "hello", "build": build_id, "last_seq": last_seq, "state": state})

    async def _refuse(self, code: int):
        # Accept, then close with our code: a refused handshake reaches the browser only as 1006.
        await self.accept()
        await self.close(code=code)

    @database_sync_to_async
    def _build(self, principal, build_id: int):
        return Build.objects.restrict(principal, "view").filter(pk=build_id).values_list("last_seq", "state").first()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def portal_event(self, message):
        await self.send_json({"type": "event", "payload": message["payload"]})
