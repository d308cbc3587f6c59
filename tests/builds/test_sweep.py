"""The sweeper on beat: queued builds whose nudge was lost are nudged again; a run whose worker died
(still running well past the time limit) is failed, saying so."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.builds.models import Build, State
from apps.builds.pipeline import builds_sweep
from tests.deployments.conftest import make_app

pytestmark = pytest.mark.django_db


def _build(world, **fields):
    app = make_app(world.acme, name="shop")
    return Build.objects.create(tenant=world.acme, application=app, tag="t", image="registry.test/acme/shop", **fields)


def test_queued_builds_waiting_a_while_are_nudged_again(world):
    fresh, waiting = _build(world), _build(world)
    Build.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert builds_sweep() == [waiting.pk]
    assert fresh.pk not in builds_sweep()


def test_a_run_past_its_time_limit_is_failed_even_with_a_heartbeat(world, settings):
    settings.BUILD_TIME_LIMIT_SECONDS = 60
    now = timezone.now()
    abandoned = _build(world, state=State.RUNNING, started_at=now - timedelta(minutes=10), heartbeat_at=now)
    running = _build(world, state=State.PUSHING, started_at=now - timedelta(minutes=2), heartbeat_at=now)
    builds_sweep()
    abandoned.refresh_from_db()
    running.refresh_from_db()
    assert abandoned.state == State.FAILED
    assert abandoned.outcome == "The worker running this build stopped before it ended; start it again."
    assert abandoned.finished_at is not None
    assert running.state == State.PUSHING


def test_a_run_whose_heartbeat_stopped_is_failed_long_before_its_time_limit(world, settings):
    settings.BUILD_HEARTBEAT_TIMEOUT_SECONDS = 45
    now = timezone.now()
    silent = _build(
        world, state=State.RUNNING, started_at=now - timedelta(minutes=2), heartbeat_at=now - timedelta(minutes=1)
    )
    never = _build(world, state=State.RUNNING, started_at=now - timedelta(minutes=1))
    beating = _build(world, state=State.RUNNING, started_at=now - timedelta(minutes=2), heartbeat_at=now)
    starting = _build(world, state=State.RUNNING, started_at=now)
    builds_sweep()
    states = {b.pk: b.state for b in Build.objects.all()}
    assert states[silent.pk] == states[never.pk] == State.FAILED
    assert states[beating.pk] == states[starting.pk] == State.RUNNING
