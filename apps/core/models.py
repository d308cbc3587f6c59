"""Shared models of the core app."""

from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """The last time a periodic job ran, one row per job name.

    Beat schedules the worker heartbeat; the readiness page and the operator console read it to
    tell whether workers and beat are alive.
    """

    name = models.CharField(max_length=100, primary_key=True)
    beat_at = models.DateTimeField()
    worker = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, name: str, *, worker: str = "") -> "Heartbeat":
        beat, _ = cls.objects.update_or_create(name=name, defaults={"beat_at": timezone.now(), "worker": worker})
        return beat

    def age_seconds(self) -> float:
        return (timezone.now() - self.beat_at).total_seconds()


class Lease(models.Model):
    """Who leads a singleton process (beat, the lifecycle watcher) until when.

    The leader renews `expires_at` every few seconds; a standby takes the row over once it has
    expired. `token` grows with every change of holder: the leader checks it before each action
    (the fencing token), so a leader that was frozen and wakes after a takeover acts no more.
    Times are the database's clock, so replicas with skewed clocks agree on expiry.
    """

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=255)
    token = models.BigIntegerField()
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder} (token {self.token}) until {self.expires_at:%H:%M:%S}"
