"""Webhook endpoints a tenant subscribes to platform events, and every delivery made to them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core import crypto
from apps.tenants.models import TenantOwned


class WebhookEndpoint(TenantOwned):
    """A URL that receives the tenant's events matching `events` ("deployment.*", "quota.warning", "*").

    The signing secret is stored encrypted (apps/core/crypto.py) and shown once, at creation or rotation.
    After WEBHOOK_DISABLE_AFTER deliveries fail in a row the endpoint is disabled (`disabled_at`, with a
    reason) until someone enables it again. `allow_private` lets it reach private or loopback addresses;
    only operators set it, and it holds only for the exact URL they approved (`allow_private_url`): a URL
    change by the tenant clears it, so an approval cannot be carried to another target.
    """

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text='Event types or patterns, e.g. ["deployment.*"].')
    secret_encrypted = crypto.EncryptedTextField(editable=False)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    allow_private = models.BooleanField(default=False, help_text="Set by operators only.")
    allow_private_url = models.CharField(
        max_length=500, blank=True, editable=False, help_text="The URL the operator's allow_private approved."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant__name", "-id"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhookendpoint_active")]

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def private_approved(self) -> bool:
        """Whether an operator's exception covers the URL as it is now."""
        return self.allow_private and bool(self.allow_private_url) and self.allow_private_url == self.url

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


OPEN_STATES = (DeliveryState.PENDING, DeliveryState.RETRYING)


class WebhookDelivery(TenantOwned):
    """One event sent (or to be sent) to one endpoint, with the outcome of its last attempt.

    `payload` is exactly what is posted (its `id` is `event_id`, the same for retries and replays, so a
    receiver can drop duplicates). While open (pending or retrying) `next_attempt_at` says when to try
    next; a worker that takes the row moves it forward by a lease, so two workers never send at once and
    a worker that dies is replaced by the sweeper. `response_body` is a short excerpt of a
    public receiver's answer; nothing is kept of what a private (operator-approved) target answers.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=100)
    event_id = models.UUIDField(default=uuid.uuid4)
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=500, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="webhookdelivery_endpoint"),
            models.Index(
                fields=["next_attempt_at"], name="webhookdelivery_due", condition=Q(state__in=["pending", "retrying"])
            ),
            models.Index(fields=["created_at"], name="webhookdelivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
