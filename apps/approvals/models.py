"""Approval policies with ordered stages, freeze windows, change requests and their decisions."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.tenants.models import Environment, TenantOwned

from .choices import ChangeKind, Recurrence, RequestState, Verdict


class ApprovalRules(models.Model):
    """The limits operators set for every tenant's approval policies; one row, made on first use.

    Tenants choose their own policies within these limits: production may be forced to need
    approval, production stages need at least `min_quorum` approvals, requesters approve their own
    changes only where operators allow it, and no request waits longer than `max_pending_hours`.
    """

    production_requires_approval = models.BooleanField(
        default=False, help_text="Every production environment needs approval, with or without a tenant policy."
    )
    min_quorum = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="The least quorum of a stage in production.",
    )
    allow_self_approval = models.BooleanField(
        default=False, help_text="Whether tenants may let requesters approve their own changes."
    )
    max_pending_hours = models.PositiveIntegerField(
        default=168, validators=[MinValueValidator(1), MaxValueValidator(24 * 90)]
    )
    review_sla_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1)],
        help_text="How long a request may wait before the console flags it.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "approval rules"

    def __str__(self) -> str:
        return "Platform approval rules"

    @classmethod
    def current(cls) -> "ApprovalRules":
        rules, _ = cls.objects.get_or_create(pk=1)
        return rules


class ApprovalPolicy(TenantOwned):
    """Whether changes to an environment need approval, and by whom: ordered stages, each with a quorum.

    A policy without an environment is the tenant's default for environments without their own.
    Invariants (services): at least one stage when approval is required, and every stage has at
    least `quorum` members who could approve it.
    """

    environment = models.OneToOneField(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="approval_policy"
    )
    requires_approval = models.BooleanField(default=True)
    allow_self_approval = models.BooleanField(default=False, help_text="The requester may approve their own change.")
    expire_after_hours = models.PositiveIntegerField(
        default=72, validators=[MinValueValidator(1)], help_text="A request still pending after this long is rejected."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "approval policies"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(environment__isnull=True), name="approval_policy_one_default_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"Approval policy of {self.environment.name if self.environment_id else 'the tenant'}"


class ApprovalStage(models.Model):
    """One step of a policy: `quorum` of the eligible approvers (by role or by name) must approve."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    quorum = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(10)])
    roles = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["policy", "position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="approval_stage_unique_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class FreezeWindow(TenantOwned):
    """A time when changes are refused unless an owner uses break-glass. Without an environment it
    covers every production environment of the tenant. Weekly windows use UTC times."""

    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="freeze_windows"
    )
    name = models.CharField(max_length=100)
    recurrence = models.CharField(max_length=8, choices=Recurrence.choices, default=Recurrence.ONCE)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(), default=list, blank=True, help_text="Weekly: 0 is Monday."
    )
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChangeRequest(TenantOwned):
    """A governed change waiting for, or past, its approval.

    The stages are copied from the policy when the request opens, so editing a policy never moves a
    request in flight. `change_hash` fingerprints the rendered change and the live state it applies
    to; approvals carry the hash they saw, and when the change renders differently the approvals so
    far are void and `revision` goes up. Closed requests never change state again.
    """

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    state = models.CharField(max_length=16, choices=RequestState.choices, default=RequestState.PENDING)
    environment = models.ForeignKey(Environment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.PROTECT, related_name="change_requests"
    )
    params = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=200)
    justification = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_with_key = models.ForeignKey(
        "apikeys.APIKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stages = models.JSONField(default=list, help_text="[{position, name, quorum, roles, members}] at opening.")
    allow_self_approval = models.BooleanField(default=False)
    current_stage = models.PositiveSmallIntegerField(default=1)
    change_hash = models.CharField(max_length=64, blank=True)
    change = models.JSONField(default=dict, blank=True, help_text="The release diff and the manifest diff.")
    impact = models.JSONField(default=dict, blank=True)
    revision = models.PositiveIntegerField(default=1)
    break_glass = models.BooleanField(default=False)
    break_glass_reason = models.TextField(blank=True)
    review_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reviews")
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="changerequest_state_created"),
            models.Index(fields=["tenant", "state", "-id"], name="changerequest_tenant_state"),
            models.Index(fields=["state", "expires_at"], name="changerequest_state_expiry"),
        ]

    def __str__(self) -> str:
        return f"Change request {self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state == RequestState.PENDING

    def stage(self, position: int | None = None) -> dict | None:
        position = self.current_stage if position is None else position
        return next((stage for stage in self.stages if stage["position"] == position), None)

    def waiting_stage(self) -> dict:
        """The stage the request is at now: one of its stages, whenever it is open or being decided."""
        stage = self.stage()
        if stage is None:
            raise LookupError(f"Change request {self.pk} has no stage {self.current_stage}.")
        return stage


class Decision(models.Model):
    """One approver's approve or reject on one stage of a request, bound to the change they saw.

    A person decides at most once per request while the change stays the same (the constraint),
    so a double submit counts once and nobody approves two stages. `voided_at` is set when the
    change moved after the decision; a void decision no longer counts.
    """

    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="decisions")
    stage = models.PositiveSmallIntegerField()
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    api_key = models.ForeignKey("apikeys.APIKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    change_hash = models.CharField(max_length=64)
    revision = models.PositiveIntegerField()
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["change_request", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "approver"],
                condition=Q(voided_at__isnull=True),
                name="decision_one_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} by {self.approver} on stage {self.stage}"
