"""The WebSocket streams of deployment events: one deployment's, and a whole tenant's."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.apikeys.websocket import DEPLOYMENT_EVENTS, TENANT, KeyScopedStream, socket_principal
from apps.core.consumers import CLOSE_UNAUTHENTICATED
from apps.core.realtime import deployment_group, tenant_group
from apps.tenants.models import Tenant

from .models import Deployment

# A deployment the user may not see is, as over HTTP, indistinguishable from a missing one.
CLOSE_NOT_FOUND = 4404


class DeploymentConsumer(KeyScopedStream, AsyncJsonWebsocketConsumer):
    """Forwards every event of one deployment, each with its seq, to a page that may view it.

    Authorized with the same restricted queryset and key scope as the REST API. The hello message carries
    the last seq stored, so a page that rendered earlier knows at once whether it missed something.
    """

    stream_scopes = (DEPLOYMENT_EVENTS,)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        deployment_id = int(self.scope["url_route"]["kwargs"]["deployment_id"])
        last_seq = await self._last_seq(socket_principal(self.scope), deployment_id)
        if last_seq is None:
            await self._refuse(CLOSE_NOT_FOUND)
            return
        self.group = deployment_group(deployment_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "deployment": deployment_id, "last_seq": last_seq})

    async def _refuse(self, code: int):
        # Accept, then close with our code: a refused handshake reaches the browser only as 1006.
        await self.accept()
        await self.close(code=code)

    @database_sync_to_async
    def _last_seq(self, principal, deployment_id: int) -> int | None:
        return (
            Deployment.objects.restrict(principal, "view")
            .filter(pk=deployment_id)
            .values_list("last_seq", flat=True)
            .first()
        )

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def portal_event(self, message):
        await self.send_json({"type": "event", "payload": message["payload"]})


class TenantConsumer(KeyScopedStream, AsyncJsonWebsocketConsumer):
    """Forwards every deployment event of one tenant to its overview and application pages.

    Authorized like the tenant's pages: a tenant the user may not view is, as over HTTP, the same as a
    missing one. A key needs what reading the tenant and GET /api/v1/deployments/ need. The pages only
    move state badges with these events; each deployment's own stream and its events API remain the
    record.
    """

    stream_scopes = (TENANT, DEPLOYMENT_EVENTS)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        tenant_id = await self._tenant_id(
            socket_principal(self.scope), self.scope["url_route"]["kwargs"]["tenant_slug"]
        )
        if tenant_id is None:
            await self._refuse(CLOSE_NOT_FOUND)
            return
        self.group = tenant_group(tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "tenant": self.scope["url_route"]["kwargs"]["tenant_slug"]})

    async def _refuse(self, code: int):
        await self.accept()
        await self.close(code=code)

    @database_sync_to_async
    def _tenant_id(self, principal, slug: str) -> int | None:
        return Tenant.objects.restrict(principal, "view").filter(slug=slug).values_list("pk", flat=True).first()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def portal_event(self, message):
        await self.send_json({"type": "event", "payload": message["payload"]})
