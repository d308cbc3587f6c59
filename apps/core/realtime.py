"""The one way services talk to browsers: group names and broadcast after commit.

Services never touch the channel layer directly. They call broadcast_on_commit, which sends only
once the surrounding transaction committed, so a browser never sees a change that was rolled back.
"""

import asyncio
import os
import threading

import structlog
from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_TYPE = "portal.event"
# Sent to a user's open streams when what they may see may have shrunk; each checks again (consumers.py).
ACCESS_CHANGED_TYPE = "access.changed"
# A broadcast is a nudge: the database is the record and pages catch up by seq. One that cannot be
# sent in this long (Redis down or stalled) is dropped rather than holding up the request that made it.
SEND_TIMEOUT_SECONDS = 2.0

logger = structlog.get_logger(__name__)


def user_group(user_id: int) -> str:
    """Every socket of one signed-in user joins this group."""
    return f"user.{user_id}"


def deployment_group(deployment_id: int) -> str:
    """Every socket watching one deployment joins this group; its events are broadcast here."""
    return f"deployment.{deployment_id}"


def build_group(build_id: int) -> str:
    """Every socket following one build's log joins this group; its new lines are broadcast here."""
    return f"build.{build_id}"


def workload_group(workload_id: int) -> str:
    """Every socket showing one workload (its row, its logs) joins this group; each fresh read of the
    cluster for it is announced here."""
    return f"workload.{workload_id}"


def tenant_group(tenant_id: int) -> str:
    """Pages that show a whole tenant (dashboards, lists) join this group."""
    return f"tenant.{tenant_id}"


def access_group(user_id: int) -> str:
    """Every stream of one object a user (or one of their keys) has open joins this group too."""
    return f"access.{user_id}"


async def _send(group: str, message: dict) -> None:
    await asyncio.wait_for(get_channel_layer().group_send(group, message), SEND_TIMEOUT_SECONDS)


class _SenderLoop:
    """One event loop per process, on a thread of its own, for broadcasts from code that has no loop
    (Celery tasks, commands). The channel layer keeps a Redis connection per loop, so sends made here
    reuse one instead of each opening and closing its own on a fresh loop; they go in call order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # a forked worker starts its own
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                threading.Thread(target=self.loop.run_forever, name="broadcasts", daemon=True).start()
            return self.loop


_sender = _SenderLoop()


def _has_caller_loop() -> bool:
    """Whether this thread runs a loop, or was started by sync_to_async from one: a send then belongs on
    that loop, as async_to_sync arranges."""
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        pass
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop is not None and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid()


def broadcast(group: str, payload: dict) -> None:
    """Send to a group now; a failure is logged, never raised, since what it announces is committed."""
    _deliver(group, {"type": EVENT_TYPE, "payload": payload})


def _deliver(group: str, message: dict) -> None:
    try:
        if _has_caller_loop():
            async_to_sync(_send)(group, message)
        else:
            asyncio.run_coroutine_threadsafe(_send(group, message), _sender.get()).result(SEND_TIMEOUT_SECONDS + 1)
    except Exception as error:  # any failure of the channel layer: Redis refused, timed out, reset
        logger.warning("broadcast dropped", group=group, error=f"{type(error).__name__}: {error}")


def broadcast_on_commit(group: str, payload: dict) -> None:
    transaction.on_commit(lambda: broadcast(group, payload))


def access_changed_on_commit(user_id: int) -> None:
    """After commit, the user's open streams check again that they may stay open, and close if not: a
    key of theirs was revoked, or a membership ended. What a socket may see is otherwise decided once,
    when it opens."""
    transaction.on_commit(lambda: _deliver(access_group(user_id), {"type": ACCESS_CHANGED_TYPE}))
