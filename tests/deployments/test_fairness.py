"""Fair turns between tenants (apps/deployments/fairness.py): a tenant has at most its limit of
deployments in flight, the rest wait in `queued` without a message, and another tenant's deployment is
worked on after a few of the burst's, not after all of it. Through a real worker and the sandbox
cluster where the order of work is the point; admission itself against the database."""

import os
import signal
import time

import pytest

from apps.core.errors import ApplicationError
from apps.deployments import fairness
from apps.deployments.choices import TERMINAL, State
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create, deployment_transition
from apps.deployments.tasks import reconcile_deployments
from apps.tenants.backlog import backlog_of
from apps.tenants.models import Quota
from apps.tenants.services import quota_set
from tests.conftest import start_worker, wait_for

from .conftest import make_app, make_release, registered


def _limit(world, tenant, limit):
    return quota_set(operator=world.operator_principal, tenant=tenant, resource=Quota.Resource.DEPLOYMENTS, limit=limit)


def _queue(world, tenant, count, prefix, image="registry.example/web:1.0"):
    """`count` deployments of the tenant, one per (application, environment), queued as fast as the services go."""
    environments = list(tenant.environments.order_by("name"))
    actor = world.principal("owner", tenant=tenant.slug)
    ids = []
    for n in range(count):
        release = make_release(make_app(tenant, f"{prefix}-{n // len(environments)}"), image=image, replicas=1)
        deployment, _ = deployment_create(actor=actor, release=release, environment=environments[n % len(environments)])
        ids.append(deployment.pk)
    return ids


def _state_times(pk):
    row = Deployment.objects.get(pk=pk)
    return {event.state: event.created_at for event in row.events.all() if event.state}


def _most_at_once(ids):
    """The most of these deployments that were ever between applying and their end at the same time."""
    edges = []
    for pk in ids:
        at = _state_times(pk)
        end = next(at[state] for state in TERMINAL if state in at)
        edges += [(at[State.APPLYING], 1), (end, -1)]
    running = most = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):  # an end before a start at the same instant
        running += step
        most = max(most, running)
    return most


# --- Admission, against the database ----------------------------------------------------------


@pytest.mark.django_db
def test_admission_takes_the_oldest_waiting_deployments_up_to_the_limit(world):
    _limit(world, world.acme, 2)
    # Inside the test's transaction nothing is committed, so no nudge admits anything by itself.
    acme = _queue(world, world.acme, 5, "burst")
    globex = _queue(world, world.globex, 1, "single")
    assert Deployment.objects.filter(pk__in=acme + globex, lease_expires_at__isnull=True).count() == 6

    assert fairness.admit(world.acme.pk) == acme[:2]
    assert fairness.admit(world.acme.pk) == []  # at its limit: the rest wait, nothing is refused
    assert fairness.admit(world.globex.pk) == globex  # another tenant's turn does not depend on acme's
    assert [b for b in backlog_of(world.acme) if b.kind == "deployments"][0].__dict__ | {"waiting_since": None} == {
        "kind": "deployments",
        "limit": 2,
        "running": 2,
        "waiting": 3,
        "waiting_since": None,
    }

    first = Deployment.objects.get(pk=acme[0])
    deployment_transition(deployment=first, to_state=State.CANCELLED, reason="Not needed")
    assert fairness.admit(world.acme.pk) == [acme[2]]  # an ended deployment gives its turn to the next in line

    # A rollout waiting for a person holds no turn.
    Deployment.objects.filter(pk=acme[1]).update(state=State.PROGRESSING, paused_at="2026-01-01T00:00:00Z")
    assert fairness.admit(world.acme.pk) == [acme[3]]
    assert set(Deployment.objects.filter(pk__in=acme[2:4]).values_list("lease_expires_at", flat=True)) != {None}
    assert Deployment.objects.get(pk=acme[4]).lease_expires_at is None


@pytest.mark.django_db
def test_the_sweep_admits_what_a_lost_nudge_left_waiting(world):
    _limit(world, world.acme, 3)
    acme = _queue(world, world.acme, 4, "burst")
    globex = _queue(world, world.globex, 2, "single")
    assert fairness.admit_waiting() == 5
    assert Deployment.objects.filter(fairness.WAITING).filter(pk__in=acme + globex).count() == 1


@pytest.mark.django_db
def test_the_limit_is_tenant_wide_and_at_least_one(world):
    for limit, environment in ((0, None), (3, world.acme.environments.get(name="dev"))):
        with pytest.raises(ApplicationError):
            quota_set(
                operator=world.operator_principal,
                tenant=world.acme,
                resource=Quota.Resource.DEPLOYMENTS,
                limit=limit,
                environment=environment,
            )
    assert fairness.limits_of([world.acme.pk]) == {world.acme.pk: 10}
    _limit(world, world.acme, 4)
    assert fairness.limits_of([world.acme.pk, world.globex.pk]) == {world.acme.pk: 4, world.globex.pk: 10}


# --- Through a real worker --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_burst_does_not_hold_up_another_tenants_deployment(world, celery_worker, sandbox):
    registered(world, sandbox)
    _limit(world, world.acme, 2)
    burst = _queue(world, world.acme, 15, "burst")
    single = _queue(world, world.globex, 1, "single")[0]

    wait_for(lambda: Deployment.objects.get(pk=single).state in TERMINAL, timeout=60)
    at = _state_times(single)
    assert State.SUCCEEDED in at, Deployment.objects.get(pk=single).outcome
    # Between globex's deployment being queued and being worked on, at most acme's limit of deployments
    # started: the ones already admitted, ahead of it in the queue. Not the rest of the burst.
    started_in_between = [
        pk
        for pk in burst
        if at[State.QUEUED] < _state_times(pk).get(State.APPLYING, at[State.SUCCEEDED]) < at[State.APPLYING]
    ]
    assert len(started_in_between) <= 2, started_in_between
    assert Deployment.objects.filter(pk__in=burst).exclude(state__in=TERMINAL).exists()  # the burst still ran

    wait_for(lambda: not Deployment.objects.filter(pk__in=burst).exclude(state__in=TERMINAL).exists(), timeout=120)
    assert set(Deployment.objects.filter(pk__in=burst).values_list("state", flat=True)) == {State.SUCCEEDED}
    assert _most_at_once(burst) == 2


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_deployment_gives_its_turn_back(world, tmp_path, sandbox):
    _limit(world, world.acme, 1)
    # Its next look at the rollout is ten minutes away, so no look it queued can finish the row for the
    # next worker: the row is the reconciler's to take over (a look still in the queue when the worker
    # died finished it at attempt 1 in one run).
    worker = start_worker(tmp_path / "worker-1.log", DEPLOYMENT_OBSERVE_SECONDS="600")
    try:
        registered(world, sandbox)
        first, second = _queue(world, world.acme, 2, "slow", image="registry.example/web:slow")
        wait_for(lambda: Deployment.objects.get(pk=first).state == State.PROGRESSING, timeout=30)
        os.kill(worker.pid, signal.SIGKILL)  # mid-rollout, holding the tenant's only turn
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert Deployment.objects.filter(fairness.WAITING, pk=second).exists()

    worker = start_worker(tmp_path / "worker-2.log")
    try:
        # The dead worker's lease runs out (LEASE_SECONDS) and the reconciler takes the row over.
        deadline = time.monotonic() + 90
        while not set(Deployment.objects.filter(pk__in=[first, second]).values_list("state", flat=True)) <= set(
            TERMINAL
        ):
            assert time.monotonic() < deadline, list(Deployment.objects.filter(pk__in=[first, second]).values())
            reconcile_deployments.delay()  # what beat does every 30 s
            time.sleep(2)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    rows = {row.pk: row for row in Deployment.objects.filter(pk__in=[first, second])}
    assert rows[first].state == rows[second].state == State.SUCCEEDED, [r.outcome for r in rows.values()]
    assert rows[first].attempts >= 2  # taken over from the dead worker
    assert _state_times(second)[State.APPLYING] > _state_times(first)[State.SUCCEEDED]
