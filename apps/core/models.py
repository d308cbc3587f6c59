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
