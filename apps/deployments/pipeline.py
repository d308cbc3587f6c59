"""The pipeline steps the tasks run: apply, observe, and the reconciler's restart of stalled rows.

Each step reloads the row and does nothing for a terminal row or for a task carrying an older
attempt than the row's, so a redelivered or duplicated message is harmless. What a step does to the
cluster is the row's strategy's (strategies/registry.py); cluster calls happen outside the row lock,
and everything recorded goes through the deployment services.

A rollout is looked at by two paths: the look every DEPLOYMENT_OBSERVE_SECONDS that each look
schedules (the fallback), and a look the lifecycle watcher asks for when a watch event touches the
rollout's objects (`look_now`, the fast path). Only one look at a deployment runs at a time
(`one_look`), so a strategy never moves a step on twice from two looks at once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import redis
import structlog
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from apps.clusters.services import environment_provision, kube_of, placement_for
from apps.core import imagepull
from apps.core.errors import ApplicationError
from apps.core.governance import Change, gate

from .choices import OBSERVED, EventKind, State
from .models import LEASE_SECONDS, Deployment
from .services import deployment_fail, deployment_observe, deployment_transition, outage_end, outage_open
from .strategies.base import applied
from .strategies.registry import strategy_for
from .strategies.restore import restore_step

logger = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
RESTARTABLE = (State.QUEUED, State.APPLYING, State.PROGRESSING, State.CANCELLING)
# A look holds its deployment this long at most (a worker killed mid-look frees it then); a look is
# short. The hold is per attempt, so the reconciler's restart of a row is not kept waiting by it.
LOOK_HOLD_SECONDS = 30
# How long a look the watcher asked for waits for the one running to end before it gives up.
LOOK_WAIT_SECONDS = 10.0


def _row(deployment_id: int, attempt: int) -> Deployment | None:
    """The row at this attempt, finished or not, with what every step reads."""
    return (
        Deployment.objects.select_related("tenant", "application", "release__application", "environment__tenant")
        .filter(pk=deployment_id, attempts=attempt)
        .first()
    )


def current(deployment_id: int, attempt: int) -> Deployment | None:
    """The row if this task still owns it: not terminal and the attempt is the row's latest."""
    row = _row(deployment_id, attempt)
    return None if row is None or row.is_terminal else row


def renew_lease(row: Deployment) -> None:
    Deployment.objects.filter(pk=row.pk, attempts=row.attempts).update(
        lease_expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS)
    )


def answering_again(row: Deployment) -> None:
    """After an outage, one cheap read proves the cluster answers before the step goes on, so the event
    saying so comes before what the step records. A read under /api, which outages and faults hit alike."""
    if outage_open(row) is None:
        return
    with kube_of(row.environment) as kube:
        kube.get("v1", "Namespace", row.environment.namespace)
    outage_end(row)


def _cluster_for(row: Deployment):
    """The environment's cluster, provisioning its namespace first when that has not happened yet."""
    placement = placement_for(row.environment)
    if placement.provisioned_at is None:
        placement = environment_provision(environment=row.environment)
    return placement.cluster


def frozen_since_queued(row: Deployment) -> str | None:
    """Why a queued deployment may not start now: a freeze that began while it waited for approval to be
    carried out or for its tenant's turn. Its approval covered the change, not a freeze that came after;
    only what was let past freezes when asked for (break-glass, restorative, the platform's) starts."""
    if row.past_freezes:
        return None
    change = Change(
        kind="deploy",
        tenant=row.tenant,
        actor=None,
        environment=row.environment,
        subject=row,
        title=f"Start deployment {row.pk}",
        carries_on=True,
    )
    try:
        gate().assess(change)  # a change that carries on is refused by a freeze only
    except ApplicationError as refusal:
        return refusal.message
    return None


def apply_step(*, deployment_id: int, attempt: int) -> bool:
    """queued -> applying -> (apply the strategy's first objects) -> progressing. True when the rollout
    should be observed. KubeError propagates so the task can retry transient failures."""
    row = current(deployment_id, attempt)
    if row is None or row.state == State.PENDING_APPROVAL:
        return False
    if row.state in OBSERVED:
        return True
    if row.state == State.QUEUED:
        if (frozen := frozen_since_queued(row)) is not None:
            deployment_transition(deployment=row, to_state=State.CANCELLED, reason=f"Not started: {frozen}")
            return False
        deployment_transition(deployment=row, to_state=State.APPLYING, reason="Applying manifests")
    renew_lease(row)
    answering_again(row)
    try:
        cluster = _cluster_for(row)
    except ApplicationError as error:
        deployment_fail(deployment=row, reason=error.message)
        return False
    manifests = strategy_for(row.strategy).first_step(row)
    pull_secret = imagepull.secret_manifest(row.release.image, row.environment)
    with kube_of(row.environment) as kube:
        if pull_secret is not None:  # before the pods that name it
            kube.apply([pull_secret])
        kube.apply(manifests)
    deployment_observe(
        deployment=row,
        observations=[
            {
                "key": "log:applied",
                "kind": EventKind.LOG,
                "message": f"Applied {applied(manifests)} to {cluster.name}",
                "data": {"cluster": cluster.name, "namespace": row.environment.namespace},
            }
        ],
    )
    try:
        deployment_transition(deployment=row, to_state=State.PROGRESSING, reason="Rolling out")
    except ApplicationError:
        return cancelling(deployment_id, attempt)  # cancelled or rolled back while applying
    return True


@contextlib.contextmanager
def one_look(deployment_id: int, attempt: int, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the deployment for one look; yields False when another look held it for longer than `wait`
    seconds. Kept in the cache (Redis), which every worker shares, with an expiry for a look that died."""
    key, mine = f"deployment-look:{deployment_id}:{attempt}", uuid.uuid4().hex
    deadline = time.monotonic() + wait
    try:
        while not (held := cache.add(key, mine, LOOK_HOLD_SECONDS)) and time.monotonic() < deadline:
            time.sleep(0.01)
    except redis.RedisError as exc:
        # Without the cache the look goes ahead unguarded: a rollout that stopped being observed while
        # Redis is away would stall until the reconciler took it over, which is worse than a rare
        # second look at the same moment.
        logger.warning(
            "look taken without its hold: the cache is unreachable", deployment=deployment_id, error=str(exc)
        )
        held, mine = True, ""
    try:
        yield held
    finally:
        with contextlib.suppress(redis.RedisError):  # else the hold ends by its expiry
            if held and mine and cache.get(key) == mine:
                cache.delete(key)


def observe_step(*, deployment_id: int, attempt: int) -> bool:
    """Record what the cluster shows and finish the deployment when it can. True: look again later.
    A cancelling row's look brings the earlier release back (strategies/restore.py). The look after a
    row ended without succeeding lets its strategy tidy up (a canary is removed). While another look
    runs this one is skipped: that look records what the cluster shows."""
    with one_look(deployment_id, attempt) as held:
        return _observe(deployment_id, attempt) if held else True


def look_now(*, deployment_id: int, attempt: int) -> None:
    """A look out of turn, asked for because the rollout's objects changed: the same look as the
    scheduled one, after the one running ends, for a row still rolling out at this attempt. It
    schedules nothing; the scheduled looks go on as the fallback."""
    if not Deployment.objects.filter(pk=deployment_id, attempts=attempt, state__in=OBSERVED).exists():
        return
    with one_look(deployment_id, attempt, wait=LOOK_WAIT_SECONDS) as held:
        if held:
            _observe(deployment_id, attempt)


def _observe(deployment_id: int, attempt: int) -> bool:
    row = _row(deployment_id, attempt)
    if row is None:
        return False
    strategy = strategy_for(row.strategy)
    if row.is_terminal:
        if row.state != State.SUCCEEDED:
            strategy.cancel(row)
        return False
    if row.state not in OBSERVED:
        return False
    renew_lease(row)
    answering_again(row)
    return restore_step(row) if row.state == State.CANCELLING else strategy.observe(row)


def cancelling(deployment_id: int, attempt: int) -> bool:
    """Whether the row is being cancelled: a step that stopped because a cancel moved the row on hands
    over to the looks that bring the earlier release back."""
    return Deployment.objects.filter(pk=deployment_id, attempts=attempt, state=State.CANCELLING).exists()


def stalled() -> list[int]:
    """Rows still in flight whose lease ran out: their worker died or their message was lost."""
    return list(
        Deployment.objects.filter(state__in=RESTARTABLE, lease_expires_at__lt=timezone.now()).values_list(
            "pk", flat=True
        )
    )


@transaction.atomic
def restart(deployment_id: int) -> tuple[str, int] | None:
    """Take the pipeline over with a new attempt; (step, attempt) to dispatch, or None."""
    row = (
        Deployment.objects.select_for_update()
        .filter(pk=deployment_id, state__in=RESTARTABLE, lease_expires_at__lt=timezone.now())
        .first()
    )
    if row is None:
        return None
    if row.attempts >= MAX_ATTEMPTS and row.paused_at is None:  # a paused row is idle on purpose
        deployment_fail(deployment=row, reason=f"The pipeline stalled {row.attempts} times; giving up.")
        return None
    row.attempts += 1
    row.lease_expires_at = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    row.save(update_fields=["attempts", "lease_expires_at"])
    return ("observe" if row.state in OBSERVED else "apply"), row.attempts
