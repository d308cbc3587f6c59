"""The WebSocket stream of one build's log."""

from channels.db import database_sync_to_async

from apps.apikeys.websocket import KeyScopedStream, socket_principal
from apps.core.consumers import CLOSE_NOT_FOUND, ObjectStream
from apps.core.realtime import build_group
from apps.tenants.roles import READ

from .models import Build

__all__ = ["CLOSE_NOT_FOUND", "BuildConsumer"]


class BuildConsumer(KeyScopedStream, ObjectStream):
    """Forwards every new batch of log lines of one build, each line with its seq, to a page that may view
    the build. Authorized with the same restricted queryset and key scope (builds:read) as the REST API.
    The hello message carries the last seq stored, so a page that rendered earlier knows at once whether
    it missed lines (it then asks GET /api/v1/builds/{id}/log/?after_seq=N)."""

    stream_scopes = (("builds", READ),)

    @database_sync_to_async
    def subscription(self):
        build_id = int(self.scope["url_route"]["kwargs"]["build_id"])
        found = (
            Build.objects.restrict(socket_principal(self.scope), "view")
            .filter(pk=build_id)
            .values_list("last_seq", "state")
            .first()
        )
        if found is None:
            return None
        last_seq, state = found
        return build_group(build_id), {"type": "hello", "build": build_id, "last_seq": last_seq, "state": state}
