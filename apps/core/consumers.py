"""WebSocket consumers of the core app, and the shape every stream of one object shares."""

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from .realtime import access_group, user_group

# Close codes in the application range; the browser script reads them to stop retrying.
CLOSE_UNAUTHENTICATED = 4401
# What the socket asks for is not there for it: as over HTTP, another tenant's object is a missing one.
CLOSE_NOT_FOUND = 4404


class AnswersPings(AsyncJsonWebsocketConsumer):
    """Pages and portalctl ping to detect half-open connections, and send nothing else. Any other frame
    (not JSON, not an object, binary) is ignored, rather than ending the consumer with a traceback."""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})


class ObjectStream(AnswersPings):
    """A stream of one object (a deployment, a build, a workload, a tenant): only signed-in users, only
    what `subscription()` finds through the same restricted queryset as the REST API. The socket joins
    the object's group, says hello, answers pings and forwards the group's events.

    `subscription()` returns (group, hello message), or None when the caller may not see the object;
    `opened()` and `closing()` are hooks for streams that do more than forward (a log follower).

    The socket also joins its user's access group: when a key of theirs is revoked or a membership
    ends (realtime.access_changed_on_commit), it reads who it is and asks `subscription()` again, and
    closes (4401, 4404) when it may no longer stream, as a new handshake would be refused."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        found = await self.subscription()
        if found is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        self.group, hello = found
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(access_group(user.pk), self.channel_name)
        await self.accept()
        await self.send_json(hello)
        await self.opened()

    async def subscription(self) -> tuple[str, dict] | None:
        raise NotImplementedError

    async def opened(self) -> None:
        """Called once the socket is accepted and greeted."""

    async def closing(self) -> None:
        """Called when the socket goes away."""

    async def refuse(self, code: int):
        # Accept, then close with our code: a refused handshake reaches the browser only as 1006.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(access_group(self.scope["user"].pk), self.channel_name)
            await self.closing()

    async def access_changed(self, message):
        if not await self.reload_identity():
            await self.close(code=CLOSE_UNAUTHENTICATED)
        elif await self.subscription() is None:
            await self.close(code=CLOSE_NOT_FOUND)

    @database_sync_to_async
    def reload_identity(self) -> bool:
        """Read the socket's user again; False when they may no longer stream at all."""
        user = get_user_model()._default_manager.filter(pk=self.scope["user"].pk, is_active=True).first()
        if user is None:
            return False
        self.scope["user"] = user
        return True

    async def portal_event(self, message):
        await self.send_json({"type": "event", "payload": message["payload"]})


class LiveConsumer(AnswersPings):
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

    async def portal_event(self, message):
        await self.send_json({"type": "event", "payload": message["payload"]})
