"""Fair turns: each tenant has at most its limit of deployments in flight; the rest wait in `queued`.

One worker queue serves every tenant in the order messages arrive, so a tenant that queued 200
deployments would make everyone else wait behind all 200. Instead a queued deployment is first only a
row: it waits for a turn (no lease, no message), and `admit` gives the tenant's oldest waiting rows a
lease and sends their tasks while the tenant has fewer than its limit in flight. The worker queue then
holds at most a few messages of each tenant, and another tenant's deployment is worked on after those
few, not after the whole burst. Within the queue, a tenant's first deployments in flight go ahead of its
later ones: each run is sent with the priority of its turn (0 for a tenant's first deployment in flight,
up to 9), which kombu's Redis transport keeps in one list per priority step and serves lowest first.

The rows are the truth and the lease is the slot's time-to-live: a deployment counts as in flight while
it is leased or past `queued`, until it is terminal. A worker that dies leaves its row leased; the
reconciler restarts it when the lease runs out (or fails it after MAX_ATTEMPTS), so a slot is never
held by nothing. A rollout waiting for a person (paused, or a canary step waiting for a continue) holds
no turn. Admission is nudged when a deployment is queued and when one ends; the beat sweep
(`admit_waiting`) admits anything a lost nudge left waiting, tenants with the oldest waiting row first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from apps.tenants.backlog import Backlog, register_backlog
from apps.tenants.models import Quota, Tenant
from apps.tenants.quotas import register_usage

from . import dispatch
from .choices import State
from .models import LEASE_SECONDS, Deployment

logger = structlog.get_logger(__name__)

KIND = "deployments"
# Waiting for a turn: queued, not yet leased (the reconciler only restarts leased rows).
WAITING = Q(state=State.QUEUED, lease_expires_at__isnull=True)
IN_FLIGHT = (
    Q(state=State.QUEUED, lease_expires_at__isnull=False)
    | Q(state__in=(State.APPLYING, State.PROGRESSING, State.CANCELLING))
) & Q(paused_at__isnull=True, waiting=False)


def limits_of(tenant_ids: Iterable[int]) -> dict[int, int]:
    """tenant id -> deployments it may have in flight: its "deployments at once" quota, else the default."""
    ids = list(tenant_ids)
    limits = dict.fromkeys(ids, settings.DEPLOYMENT_CONCURRENCY_PER_TENANT)
    quotas = Quota.objects.filter(
        tenant_id__in=ids, resource=Quota.Resource.DEPLOYMENTS, environment__isnull=True
    ).values_list("tenant_id", "limit")
    limits.update({tenant_id: max(limit, 1) for tenant_id, limit in quotas})
    return limits


def admit(tenant_id: int) -> list[int]:
    """Lease the tenant's oldest waiting deployments while it has fewer than its limit in flight, and
    send their tasks after commit, each with its turn as its priority. Returns the ids admitted.
    Serialized per tenant by the tenant row's lock (as builds lock it), so two admissions at once cannot
    both take the last turn."""
    with transaction.atomic():
        # NO KEY: rows that merely reference the tenant (every insert of tenant-owned data) go on.
        if not Tenant.objects.select_for_update(no_key=True).filter(pk=tenant_id).exists():
            return []
        limit = limits_of([tenant_id])[tenant_id]
        in_flight = Deployment.objects.filter(IN_FLIGHT, tenant_id=tenant_id).count()
        free = limit - in_flight
        if free <= 0:
            return []
        ids = list(
            Deployment.objects.filter(WAITING, tenant_id=tenant_id).order_by("id").values_list("pk", flat=True)[:free]
        )
        if not ids:
            return []
        Deployment.objects.filter(WAITING, pk__in=ids).update(
            lease_expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS)
        )
        rows = Deployment.objects.filter(pk__in=ids).order_by("id").values_list("pk", "attempts")
        for turn, (pk, attempts) in enumerate(rows, start=in_flight):
            dispatch.after_commit(dispatch.RUN, pk, attempts, priority=min(turn, 9))
    return ids


def admit_after_commit(tenant_id: int) -> None:
    """Admit once the current transaction commits. A failure there (the database or broker gone) is
    logged, not raised into the request that queued or finished a deployment: the sweep admits later."""
    transaction.on_commit(lambda: admit(tenant_id), robust=True)


def admit_waiting() -> int:
    """The sweep: admit for every tenant with deployments waiting, longest-waiting first. How many admitted."""
    tenants = (
        Deployment.objects.filter(WAITING)
        .values("tenant_id")
        .annotate(oldest=Min("id"))
        .order_by("oldest")
        .values_list("tenant_id", flat=True)
    )
    admitted = 0
    for tenant_id in tenants:
        admitted += len(admit(tenant_id))
    if admitted:
        logger.info("waiting deployments admitted", count=admitted)
    return admitted


def backlogs(tenant_ids: Iterable[int] | None) -> dict[int, Backlog]:
    """tenant id -> its deployments' limit, in flight and waiting; None: every tenant with any."""
    rows = Deployment.objects.filter(IN_FLIGHT | WAITING)
    if tenant_ids is not None:
        tenant_ids = list(tenant_ids)
        rows = rows.filter(tenant_id__in=tenant_ids)
    counts = {
        row["tenant_id"]: row
        for row in rows.values("tenant_id").annotate(
            running=Count("id", filter=IN_FLIGHT),
            waiting=Count("id", filter=WAITING),
            since=Min("created_at", filter=WAITING),
        )
    }
    ids = tenant_ids if tenant_ids is not None else list(counts)
    limits = limits_of(ids)
    return {
        tenant_id: Backlog(
            kind=KIND,
            limit=limits[tenant_id],
            running=counts.get(tenant_id, {}).get("running", 0),
            waiting=counts.get(tenant_id, {}).get("waiting", 0),
            waiting_since=counts.get(tenant_id, {}).get("since"),
        )
        for tenant_id in ids
    }


def _in_flight_usage(tenant, environment) -> int:
    """The "deployments at once" quota's usage: the tenant's deployments in flight now."""
    return Deployment.objects.filter(IN_FLIGHT, tenant=tenant).count()


register_backlog(KIND, backlogs)
register_usage(Quota.Resource.DEPLOYMENTS, _in_flight_usage)
