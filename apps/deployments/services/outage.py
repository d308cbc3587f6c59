"""Cluster outages seen by a deployment: recorded once when they begin and once when they end.

A deployment whose cluster stops answering (5xx, timeouts, connection refused) waits for it rather than
failing, up to its progress deadline; so does a day-2 operation on it (scale, restart, remove, switch
back), through the same events and the same task backoff (apps/deployments/tasks.py `_wait_out`). The outage lives in the event log, not in a column: its start is
the `outage:<n>:waiting` event (data["since"]), its end the `outage:<n>:over` event, so a worker that
dies mid-outage hands the same clock to the reconciler's next attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.clusters.kube import KubeError
from apps.clusters.services import explain_failure

from ..choices import EventKind
from ..models import Deployment, DeploymentEvent
from .state import deployment_locked, event_append

PREFIX = "outage:"


def cluster_down(error: KubeError) -> bool:
    """Whether the cluster did not answer (5xx, timeout, no connection), which is waited out, rather
    than refused (4xx), which fails at once."""
    return error.retryable or error.status is None


def outage_cause(error: KubeError) -> str:
    """What the cluster did instead of answering: its status and words, or why nothing answered at all."""
    if error.status is None:
        return f"no answer ({explain_failure(error).rstrip('.')})"
    return f"{error.status} ({error.message})"


def outage_open(deployment: Deployment) -> DeploymentEvent | None:
    """The waiting event of the outage this deployment is in, or None when the cluster last answered."""
    latest = deployment.events.filter(key__startswith=PREFIX).order_by("-seq").first()
    return latest if latest is not None and latest.key.endswith(":waiting") else None


def outage_seconds(event: DeploymentEvent, now: datetime | None = None) -> float:
    """How long the outage of this waiting event has lasted."""
    since = cast(datetime, parse_datetime(event.data["since"]))  # written by outage_begin, always a timestamp
    return ((now or timezone.now()) - since).total_seconds()


@transaction.atomic
def outage_begin(deployment: Deployment, *, cause: str, status: int | None) -> DeploymentEvent:
    """The waiting event of the current outage, recorded now if the cluster answered last time: once
    per outage, however many retries it takes."""
    row = deployment_locked(deployment.pk)
    event = outage_open(row)
    if event is not None:
        return event
    number = row.events.filter(key__startswith=PREFIX, key__endswith=":waiting").count() + 1
    event = event_append(
        row,
        kind=EventKind.LOG,
        key=f"{PREFIX}{number}:waiting",
        message=f"Waiting for the cluster: {cause.rstrip('.')}. Retrying with backoff for up to the progress "
        f"deadline ({row.progress_deadline_seconds} s).",
        data={"since": timezone.now().isoformat(), "status": status, "cause": cause},
    )
    deployment.last_seq = row.last_seq
    return event


@transaction.atomic
def outage_end(deployment: Deployment) -> bool:
    """Say once that the cluster answers again, and after how long; False when no outage was open."""
    row = deployment_locked(deployment.pk)
    event = outage_open(row)
    if event is None:
        return False
    waited = outage_seconds(event)
    status = event.data.get("status")
    what = f"{status}" if status else "no answer"
    event_append(
        row,
        kind=EventKind.LOG,
        key=event.key.replace(":waiting", ":over"),
        message=f"The cluster answers again after {what} for {waited:.0f} s; carrying on.",
        data={"seconds": round(waited, 1), "status": status},
    )
    deployment.last_seq = row.last_seq
    return True
