"""The WebSocket streams of one workload: its row as each read of the cluster leaves it, and its pods'
logs followed live from the cluster.

Both are authorized like GET /api/v1/workloads/{id}/: the same restricted queryset, and a key needs
deployments:read. Another tenant's workload is closed with 4404, like a missing one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import structlog
from channels.db import database_sync_to_async
from django.conf import settings

from apps.apikeys.websocket import DEPLOYMENT_EVENTS, KeyScopedStream, socket_principal
from apps.clusters.selectors import placement_of
from apps.core.consumers import ObjectStream
from apps.core.errors import ApplicationError
from apps.core.realtime import workload_group

from .api.serializers import WorkloadSerializer
from .live import workload_log_follow, workload_pod_names
from .models import Workload
from .selectors import with_formation

logger = structlog.get_logger(__name__)

# Lines a page gets from each pod when it opens the stream, before the live ones.
TAIL_LINES = 200
# Lines that arrive within this long go to the page in one message.
BATCH_SECONDS = 0.05


class _OpenPerUser:
    """Log streams open in this process, per user. Each follows every pod of its workload with a thread
    and a connection to the cluster, so one user's tabs or script may hold only so many of a web
    process's (WORKLOAD_LOG_STREAMS_PER_USER); a process that ends takes its count with it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}

    def claim(self, user_id: int) -> bool:
        with self._lock:
            if self._open.get(user_id, 0) >= settings.WORKLOAD_LOG_STREAMS_PER_USER:
                return False
            self._open[user_id] = self._open.get(user_id, 0) + 1
            return True

    def release(self, user_id: int) -> None:
        with self._lock:
            left = self._open.get(user_id, 0) - 1
            if left > 0:
                self._open[user_id] = left
            else:
                self._open.pop(user_id, None)


_log_streams = _OpenPerUser()


def _viewable(scope):
    workload_id = int(scope["url_route"]["kwargs"]["workload_id"])
    return Workload.objects.restrict(socket_principal(scope), "view").filter(pk=workload_id)


class WorkloadConsumer(KeyScopedStream, ObjectStream):
    """Sends the workload's row (the API's shape) at once and after every read of the cluster, so the
    page's badges, replicas and pods move without polling."""

    stream_scopes = (DEPLOYMENT_EVENTS,)

    @database_sync_to_async
    def subscription(self):
        row = self._row()
        if row is None:
            return None
        return workload_group(row["id"]), {"type": "hello", "workload": row}

    def _row(self) -> dict | None:
        rows = _viewable(self.scope).select_related("tenant", "application", "environment", "release")
        rows = rows.defer("replica_history")  # the row does not carry it: only the page's chart draws it
        workload = with_formation(rows).first()
        return WorkloadSerializer(workload).data if workload is not None else None

    async def portal_event(self, message):
        row = await database_sync_to_async(self._row)()
        if row is not None:
            await self.send_json({"type": "workload", "workload": row})


class WorkloadLogConsumer(KeyScopedStream, ObjectStream):
    """Follows the log of every pod of the workload from the cluster and sends each line as it is
    written: `{"type": "lines", "lines": [{"pod", "at", "text"}]}`. Pods that appear later (a rollout, a
    scale) are followed once a read of the cluster lists them; a pod's follow ends when the pod goes.
    Each follow runs in a thread of its own (the kubernetes client blocks) and is closed with the socket."""

    stream_scopes = (DEPLOYMENT_EVENTS,)

    async def connect(self):
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            if not _log_streams.claim(user.pk):
                # Refused before the handshake completes: the page's reconnects back off, as they would
                # not after an accepted socket closed at once.
                await self.close()
                return
            self.claimed = user.pk
        await super().connect()

    async def disconnect(self, code):
        try:
            await super().disconnect(code)
        finally:  # whatever closing the follows met, the stream's place is given back
            if getattr(self, "claimed", None) is not None:
                _log_streams.release(self.claimed)
                self.claimed = None

    @database_sync_to_async
    def subscription(self):
        self.workload = _viewable(self.scope).select_related("application", "environment").first()
        if self.workload is None:
            return None
        placement = placement_of(self.workload.environment)
        self.cluster = placement.cluster if placement is not None else None
        return workload_group(self.workload.pk), {"type": "hello", "workload": self.workload.pk}

    async def opened(self):
        self.loop = asyncio.get_running_loop()
        self.follows: dict[str, object] = {}
        self.outbox: list[dict] = []
        if self.cluster is None:
            await self.send_json({"type": "error", "message": "The environment is on no cluster: nothing of it runs."})
            return
        try:
            pods = await asyncio.to_thread(workload_pod_names, self.cluster, self.workload)
        except ApplicationError as error:
            await self.send_json({"type": "error", "message": error.message})
            return
        self._follow(pods)

    async def portal_event(self, message):
        if self.cluster is not None:
            self._follow(message["payload"].get("pods") or [])

    def _follow(self, pods: list[str]) -> None:
        for pod in pods:
            if pod in self.follows:
                continue
            follow = workload_log_follow(self.cluster, self.workload, pod, tail=TAIL_LINES)
            self.follows[pod] = follow
            threading.Thread(target=self._pump, args=(pod, follow), name=f"log-{pod}", daemon=True).start()

    def _pump(self, pod: str, follow) -> None:
        """In the follow's thread: hand each line to the socket's loop."""
        try:
            for at, text in follow:
                self.loop.call_soon_threadsafe(self._line, {"pod": pod, "at": at, "text": text})
        except Exception as error:  # the cluster failed: the next read of the workload follows the pod again
            logger.warning("log follow failed", pod=pod, error=str(error))
        finally:
            follow.kube.close()
            with contextlib.suppress(RuntimeError):  # the socket's loop may be gone with it
                self.loop.call_soon_threadsafe(self.follows.pop, pod, None)

    def _line(self, line: dict) -> None:
        if not self.outbox:
            self.loop.call_later(BATCH_SECONDS, lambda: asyncio.ensure_future(self._flush()))
        self.outbox.append(line)

    async def _flush(self) -> None:
        lines, self.outbox = sorted(self.outbox, key=lambda line: line["at"]), []
        if lines:
            with contextlib.suppress(OSError):  # the browser went away after the lines came: nobody to tell
                await self.send_json({"type": "lines", "lines": lines})

    async def closing(self):
        for follow in list(getattr(self, "follows", {}).values()):
            follow.close()
