"""Workloads: the present of an application in an environment, as the cluster last said it.

Deployments and their events are history; a workload row is what the lifecycle watcher (or a refresh
after a deployment ends) last read from the cluster: the live release, replica counts, pods, health
and drift. Nothing here is inferred from events.
"""

from django.conf import settings
from django.db import models

from apps.catalog.models import Application, Release
from apps.tenants.models import Environment, TenantOwned


class Health(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    PROGRESSING = "progressing", "Progressing"
    DEGRADED = "degraded", "Degraded"
    SUSPENDED = "suspended", "Suspended"
    MISSING = "missing", "Missing"
    UNKNOWN = "unknown", "Unknown"


class Sync(models.TextChoices):
    SYNCED = "synced", "Synced"
    OUT_OF_SYNC = "out_of_sync", "Out of sync"
    UNKNOWN = "unknown", "Unknown"


# Degraded first: the rows someone has to look at.
HEALTH_ORDER = [Health.DEGRADED, Health.MISSING, Health.UNKNOWN, Health.PROGRESSING, Health.SUSPENDED, Health.HEALTHY]


class Workload(TenantOwned):
    """One application in one environment. `observed_at` is when the cluster was last read; when that
    read failed, `read_error` says why and health and sync are unknown."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="workloads")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="workloads")
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    image = models.CharField(max_length=500, blank=True)
    colour = models.CharField(max_length=8, blank=True, help_text="Blue-green: the colour the Service selects.")
    replicas = models.PositiveIntegerField(null=True, blank=True, help_text="Desired, as the cluster has it.")
    ready_replicas = models.PositiveIntegerField(default=0)
    updated_replicas = models.PositiveIntegerField(default=0)
    available_replicas = models.PositiveIntegerField(default=0)
    autoscaler = models.JSONField(null=True, blank=True, help_text="current, desired, min and max replicas")
    health = models.CharField(max_length=12, choices=Health.choices, default=Health.UNKNOWN)
    health_reason = models.TextField(blank=True)
    sync = models.CharField(max_length=12, choices=Sync.choices, default=Sync.UNKNOWN)
    drift = models.JSONField(default=list, blank=True, help_text="kind, name, path, desired, live per field")
    pods = models.JSONField(default=list, blank=True)
    read_error = models.TextField(blank=True)
    drift_since = models.DateTimeField(null=True, blank=True, help_text="Out of sync since, for self-heal's grace.")
    replica_history = models.JSONField(
        default=list,
        blank=True,
        help_text="One sample per minute over the last hours, as the reads saw them: "
        "[minute, desired, ready, the autoscaler's desired or null].",
    )
    observed_at = models.DateTimeField(null=True, blank=True)

    look_again_in: float | None  # never stored: set by a read (services.workload_refresh)

    class Meta:
        ordering = ["application__name", "environment__name"]
        constraints = [
            models.UniqueConstraint(fields=["application", "environment"], name="workload_one_per_app_environment")
        ]
        indexes = [models.Index(fields=["tenant", "health"])]

    def __str__(self) -> str:
        return f"{self.application.name} in {self.environment.name}"


class Cause(models.TextChoices):
    """Why a workload is unwell: each opens at most one incident per workload at a time."""

    CRASH_LOOP = "crash_loop", "Crash loop"
    OOM_KILLED = "oom_killed", "Out of memory"
    IMAGE_PULL = "image_pull", "Image cannot be pulled"
    UNREADY = "unready", "Pods not ready"
    QUOTA = "quota", "Pods refused by the quota"
    AUTOSCALER_AT_MAX = "autoscaler_at_max", "Autoscaler at its maximum"
    DRIFT = "drift", "Drift from the release"
    DRIFT_RETURNS = "drift_returns", "Drift keeps returning"


class Incident(TenantOwned):
    """One cause of trouble on one workload, from first seen until it is gone. It resolves by itself
    once the cause has not been seen for INCIDENT_RESOLVE_AFTER_SECONDS (`clear_since` is the first read
    without it); a cause that returns within REOPEN_WINDOW after that reopens the same incident and
    counts up, so a flapping workload is one incident, not a hundred."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="incidents")
    cause = models.CharField(max_length=24, choices=Cause.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    message = models.TextField()
    count = models.PositiveIntegerField(default=1, help_text="How many times the cause began.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    clear_since = models.DateTimeField(
        null=True, blank=True, help_text="While open: since when reads have not seen the cause."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when it resolved by itself.",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.TextField(blank=True, help_text="What the portal did about it, e.g. an automatic rollback.")
    waits_for = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The change request its action waits for, until it is decided."
    )
    waiting: bool  # never stored: set by an action from the incident that waits for approval or the cluster

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "cause"],
                condition=models.Q(state="open"),
                name="incident_one_open_per_workload_cause",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_cause_display()} on {self.workload}"
