"""The one way services talk to browsers: group names and broadcast after commit.

Services never touch the channel layer directly. They call broadcast_on_commit, which sends only
once the surrounding transaction committed, so a browser never sees a change that was rolled back.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

EVENT_TYPE = "portal.event"


def user_group(user_id: int) -> str:
    """Every socket of one signed-in user joins this group."""
    return f"user.{user_id}"


def deployment_group(deployment_id: int) -> str:
    """Every socket watching one deployment joins this group; its events are broadcast here."""
    return f"deployment.{deployment_id}"


def tenant_group(tenant_id: int) -> str:
    """Pages that show a whole tenant (dashboards, lists) join this group."""
    return f"tenant.{tenant_id}"


def broadcast(group: str, payload: dict) -> None:
    async_to_sync(get_channel_layer().group_send)(group, {"type": EVENT_TYPE, "payload": payload})


def broadcast_on_commit(group: str, payload: dict) -> None:
    transaction.on_commit(lambda: broadcast(group, payload))
