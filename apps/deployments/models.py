"""Deployments of releases into environments, and the numbered events each one records."""

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.catalog.models import Application, Release
from apps.tenants.models import Environment, TenantOwned

from .choices import ACTIVE, TERMINAL, EventKind, State, Strategy
from .manifests import DEFAULT_PROGRESS_DEADLINE

# How long a pipeline step may stay silent before the reconciler restarts the pipeline.
LEASE_SECONDS = 20
# How long past its progress deadline the portal waits before failing a rollout itself: the cluster's
# own deadline normally fires first, and its verdict says more.
DEADLINE_GRACE_SECONDS = 30


class Deployment(TenantOwned):
    """One request to run a release in an environment, moving through the states in choices.py.

    Invariants: at most one active deployment per (application, environment), enforced by the
    database; terminal rows never change state again; `last_seq` is the seq of the newest event, and
    events are numbered 1, 2, 3 ... without gaps. `attempts` counts how often the pipeline was
    (re)started for the row; a task carrying an older attempt is stale and does nothing.
    """

    change_request: Any  # never stored: set by a governed write to the change request it now waits on
    waiting_for_cluster: bool  # never stored: set by a day-2 operation the cluster did not answer, made later
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="deployments")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="deployments")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="deployments")
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.ROLLING)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it was requested, e.g. the reason for a rollback.")
    outcome = models.TextField(blank=True, help_text="How it ended, in words: set with the terminal state.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    progress_deadline_seconds = models.PositiveIntegerField(
        default=DEFAULT_PROGRESS_DEADLINE, validators=[MinValueValidator(2), MaxValueValidator(3600)]
    )
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="rollbacks")
    attempts = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Canary and blue-green (apps/deployments/strategies): the plan, and where the rollout stands.
    strategy_config = models.JSONField(
        default=dict, blank=True, help_text="steps, gate_seconds (none: wait for continue), keep_seconds"
    )
    step = models.PositiveSmallIntegerField(default=0, help_text="Canary: the current step, from 1; 0 before any.")
    waiting = models.BooleanField(default=False, help_text="Canary: the step is ready and waits for a continue.")
    colour = models.CharField(max_length=8, blank=True, help_text="Blue-green: the colour this release rolled out to.")
    switch_back_until = models.DateTimeField(
        null=True, blank=True, help_text="Blue-green: the old colour is kept until then."
    )
    switched_back_at = models.DateTimeField(null=True, blank=True)
    # Rolling: a paused rollout stays progressing; the deadline counts again from the resume.
    paused_at = models.DateTimeField(null=True, blank=True, help_text="Rolling: set while the rollout is paused.")
    resumed_at = models.DateTimeField(null=True, blank=True, help_text="Rolling: when it was last resumed.")
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the application was removed from the environment after it."
    )
    past_freezes = models.BooleanField(
        default=False,
        help_text="Starts during a freeze: the platform's own rollback, a restorative one, or break-glass.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "environment"],
                condition=Q(state__in=ACTIVE),
                name="deployment_one_active_per_app_environment",
            ),
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="deployment_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "lease_expires_at"], name="deployment_state_lease"),
            # A tenant's lists read newest first a page at a time (apps/core/paging.py): the database walks
            # this index and stops after a page, rather than sorting every deployment the tenant has.
            models.Index(fields=["tenant", "-id"], name="deployment_tenant_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.application.name} #{self.release.number} to {self.environment.name} ({self.pk})"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL


class DeploymentEvent(models.Model):
    """Something that happened to a deployment: a state change, a pod observation, a pipeline log line.

    Written only by the deployment services, under a lock on the deployment row, so `seq` counts
    1, 2, 3 ... per deployment. `key` names an observation ("pod:web-1:ready") so a second look at
    the cluster never records it twice.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    state = models.CharField(max_length=20, choices=State.choices, blank=True)
    key = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "seq"], name="deployment_event_unique_seq"),
            models.UniqueConstraint(
                fields=["deployment", "key"], condition=~Q(key=""), name="deployment_event_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id}#{self.seq} {self.kind} {self.message[:40]}"


class DeploySettings(TenantOwned):
    """How deployments behave in one environment. Made on first use with the environment's defaults:
    a failed rollout in production rolls back automatically, elsewhere it stays failed for a look."""

    change_request: Any  # never stored: set by a governed change to the change request it now waits on
    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="deploy_settings")

    class SelfHeal(models.TextChoices):
        OFF = "off", "Off"
        NOTIFY = "notify", "Notify"
        HEAL = "heal", "Heal"

    auto_rollback = models.BooleanField(
        help_text="When a rollout fails, deploy the release that last succeeded here again."
    )
    self_heal = models.CharField(
        max_length=8,
        choices=SelfHeal.choices,
        default=SelfHeal.NOTIFY,
        help_text="When the cluster drifts from the live release: ignore it, open an incident, or re-apply the release.",
    )
    heal_skips_approval = models.BooleanField(
        default=False,
        help_text="Where the environment needs approval, self-heal re-applies the live release at once and is "
        "reviewed afterwards, instead of waiting for a change request.",
    )
    restart_on_incident = models.BooleanField(
        default=False,
        help_text="When pods crash-loop or stay unready and no automatic rollback applies, restart them once "
        "per incident (through approval where the environment needs it).",
    )
    require_digest = models.BooleanField(
        default=False,
        help_text="Accept only releases whose image is pinned by digest (image@sha256:…), never a tag that can move.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deploy settings"

    def __str__(self) -> str:
        return f"Deploy settings of {self.environment.name}"


class Formation(TenantOwned):
    """How many replicas an application runs in an environment, as a member set it through the portal
    (Heroku's formation): desired state of the workload, not of a release. A release's own `replicas`
    seeds the first deploy to an environment; once someone scales through the portal, every later
    release runs this many instead. Not applied while a release autoscales (the autoscaler owns the
    replicas then); removing the application from the environment forgets it."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    replicas = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "environment"], name="formation_one_per_app_environment")
        ]

    def __str__(self) -> str:
        return f"{self.application.name} in {self.environment.name}: {self.replicas} replicas"
