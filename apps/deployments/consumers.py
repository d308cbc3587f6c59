"""The WebSocket streams of deployment events: one deployment's, and a whole tenant's."""

from channels.db import database_sync_to_async

from apps.apikeys.websocket import DEPLOYMENT_EVENTS, TENANT, KeyScopedStream, socket_principal
from apps.core.consumers import CLOSE_NOT_FOUND, ObjectStream
from apps.core.realtime import deployment_group, tenant_group
from apps.tenants.models import Tenant
from apps.tenants.roles import READ

from .models import Deployment

__all__ = ["CLOSE_NOT_FOUND", "DeploymentConsumer", "TenantConsumer"]

# What a key needs for each kind of event on a tenant's group: the scope of its REST endpoint. A kind
# not named here reaches sessions only.
TENANT_EVENT_SCOPES = {
    "deployment.event": DEPLOYMENT_EVENTS,
    "workload": DEPLOYMENT_EVENTS,
    "incident": DEPLOYMENT_EVENTS,  # the incidents API reads with deployments:read
    "change_request.updated": ("approvals", READ),
    "service_instance": ("addons", READ),
}


class DeploymentConsumer(KeyScopedStream, ObjectStream):
    """Forwards every event of one deployment, each with its seq, to a page that may view it.

    Authorized with the same restricted queryset and key scope as the REST API. The hello message carries
    the last seq stored, so a page that rendered earlier knows at once whether it missed something.
    """

    stream_scopes = (DEPLOYMENT_EVENTS,)

    @database_sync_to_async
    def subscription(self):
        deployment_id = int(self.scope["url_route"]["kwargs"]["deployment_id"])
        last_seq = (
            Deployment.objects.restrict(socket_principal(self.scope), "view")
            .filter(pk=deployment_id)
            .values_list("last_seq", flat=True)
            .first()
        )
        if last_seq is None:
            return None
        return deployment_group(deployment_id), {"type": "hello", "deployment": deployment_id, "last_seq": last_seq}


class TenantConsumer(KeyScopedStream, ObjectStream):
    """Forwards every deployment event of one tenant, and every change of its workloads' rows, to its
    overview and application pages.

    Authorized like the tenant's pages: a tenant the user may not view is, as over HTTP, the same as a
    missing one. A key needs what reading the tenant and GET /api/v1/deployments/ need. The pages only
    move state badges with these events; each deployment's own stream and its events API remain the
    record.
    """

    stream_scopes = (TENANT, DEPLOYMENT_EVENTS)

    @database_sync_to_async
    def subscription(self):
        slug = self.scope["url_route"]["kwargs"]["tenant_slug"]
        tenant_id = (
            Tenant.objects.restrict(socket_principal(self.scope), "view")
            .filter(slug=slug)
            .values_list("pk", flat=True)
            .first()
        )
        if tenant_id is None:
            return None
        return tenant_group(tenant_id), {"type": "hello", "tenant": slug}

    async def portal_event(self, message):
        principal = socket_principal(self.scope)
        needs = TENANT_EVENT_SCOPES.get(message["payload"].get("type"))
        if principal.api_key is None or (needs is not None and principal.has_scope(*needs)):
            await super().portal_event(message)
