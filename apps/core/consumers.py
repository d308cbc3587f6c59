"""WebSocket consumers of the core app."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .realtime import user_group

# Close codes in the application range; the browser script reads them to stop retrying.
CLOSE_UNAUTHENTICATED = 4401


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Backs the live indicator in the page header and delivers events addressed to the user.

    Only signed-in users connect; the socket joins the user's own group and nothing else.
    """

    async def connect(self):
        user = self.scope.get("user")
        # A key speaks for one tenant; the user's own notifications span all of theirs, so keys stay out.
        if user is None or not user.is_authenticated or self.scope.get("api_key") is not None:
            # Accept, then close with our code: a refused handshake reaches the browser only as 1006,
            # and the page needs to know it must stop retrying.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.email})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The page pings to detect half-open connections; anything else is ignored.
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def portal_event(self, message):
        await self.send_json({"type": "event", "payload": message["payload"]})
