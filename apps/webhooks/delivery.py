"""Sending deliveries: claim the row, sign and POST, record what happened, retry with backoff, and
disable an endpoint that keeps failing. Called by the tasks; safe to run twice for the same delivery.

A worker claims a due delivery by moving `next_attempt_at` forward by a lease inside a short
transaction, so a second nudge for the same row finds it not due and does nothing; if the worker dies,
the sweeper nudges the row again once the lease has passed.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError
from apps.tenants.models import Membership
from apps.tenants.roles import Role

from . import transport
from .models import OPEN_STATES, DeliveryState, WebhookDelivery, WebhookEndpoint
from .signing import signature
from .targets import private_allowed, target_check

logger = structlog.get_logger(__name__)

# A countdown task is due a little early at most; a claim accepts rows due within this margin.
DUE_MARGIN = timedelta(seconds=1)


def body_of(payload: dict) -> bytes:
    """The exact bytes posted and signed."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def max_attempts() -> int:
    return len(settings.WEBHOOK_RETRY_SCHEDULE) + 1


def backoff_seconds(attempt: int) -> float:
    """Wait before attempt `attempt + 1`: the schedule's step for this attempt, with ±20 % jitter."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    base = float(schedule[min(attempt, len(schedule)) - 1])
    return base * random.uniform(0.8, 1.2)


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_TIMEOUT_SECONDS + 30)


@transaction.atomic
def _claim(delivery_id: int) -> WebhookDelivery | None:
    row = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "tenant")
        .filter(pk=delivery_id, state__in=OPEN_STATES)
        .first()
    )
    now = timezone.now()
    if row is None or (row.next_attempt_at and row.next_attempt_at > now + DUE_MARGIN):
        return None
    if not row.endpoint.is_active:
        row.state, row.next_attempt_at, row.error = DeliveryState.FAILED, None, "Not sent: the endpoint is disabled."
        row.save(update_fields=["state", "next_attempt_at", "error"])
        return None
    row.attempts += 1
    row.next_attempt_at = now + _lease()
    row.save(update_fields=["attempts", "next_attempt_at"])
    return row


def _send(row: WebhookDelivery) -> transport.Outcome:
    endpoint = row.endpoint
    allowed = private_allowed(endpoint.private_approved)
    try:
        target_check(endpoint.url, allow_private=allowed)
    except ApplicationError as exc:
        return transport.Outcome(None, "", 0, f"Refused: {exc.message}", refused=True)
    body = body_of(row.payload)
    timestamp = int(time.time())
    message_id = str(row.event_id)
    headers = {
        "Content-Type": "application/json",
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret=endpoint.secret, message_id=message_id, timestamp=timestamp, body=body),
    }
    return transport.post(endpoint.url, body, headers, private_allowed=allowed)


def delivery_attempt(delivery_id: int) -> str | None:
    """Make one attempt at a due delivery; returns its new state, or None when there was nothing to do."""
    row = _claim(delivery_id)
    if row is None:
        return None
    outcome = _send(row)
    logger.info(
        "webhook attempt",
        delivery=row.pk,
        endpoint=row.endpoint_id,
        webhook_event=row.event,
        attempt=row.attempts,
        code=outcome.code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
    )
    return _record(row.pk, outcome)


@transaction.atomic
def _record(delivery_id: int, outcome: transport.Outcome) -> str:
    row = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=row.endpoint_id)
    now = timezone.now()
    row.response_code, row.latency_ms = outcome.code, outcome.latency_ms
    # What a private target answers (an operator-approved internal receiver, or anything the platform
    # setting lets through) may be internal data; only a public receiver's answer is kept, as an excerpt.
    row.response_body = outcome.body.strip()[: transport.EXCERPT_BYTES] if outcome.peer_public else ""
    row.error = outcome.error or ("" if outcome.ok else f"HTTP {outcome.code}")
    if outcome.ok:
        row.state, row.delivered_at, row.next_attempt_at = DeliveryState.SUCCEEDED, now, None
        if endpoint.consecutive_failures:
            endpoint.consecutive_failures = 0
            endpoint.save(update_fields=["consecutive_failures"])
    elif row.attempts < max_attempts() and not outcome.refused:
        delay = backoff_seconds(row.attempts)
        row.state, row.next_attempt_at = DeliveryState.RETRYING, now + timedelta(seconds=delay)
        if delay <= settings.WEBHOOK_MAX_COUNTDOWN_SECONDS:
            _retry_on_commit(row.pk, delay)
    else:
        row.state, row.next_attempt_at = DeliveryState.FAILED, None
        _count_failure(endpoint, row)
    row.save(
        update_fields=[
            "response_code",
            "latency_ms",
            "response_body",
            "error",
            "state",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return row.state


def _retry_on_commit(delivery_id: int, delay: float) -> None:
    from .tasks import deliver_webhook

    def retry():
        try:
            deliver_webhook.apply_async((delivery_id,), countdown=delay)
        except Exception:  # the sweeper sends it when the broker is back
            logger.exception("webhook retry not queued", delivery=delivery_id)

    transaction.on_commit(retry)


def _count_failure(endpoint: WebhookEndpoint, row: WebhookDelivery) -> None:
    """One more delivery failed for good; enough in a row disable the endpoint and tell its admins."""
    endpoint.consecutive_failures += 1
    fields = ["consecutive_failures"]
    if endpoint.is_active and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
        endpoint.is_active, endpoint.disabled_at = False, timezone.now()
        endpoint.disabled_reason = (
            f"Disabled after {endpoint.consecutive_failures} failed deliveries in a row; the last one: {row.error}"
        )[:300]
        fields += ["is_active", "disabled_at", "disabled_reason"]
        audit_record(
            actor=None,
            action="webhook.disable",
            obj=endpoint,
            tenant=endpoint.tenant,
            changes={"is_active": [True, False], "disabled_reason": ["", endpoint.disabled_reason]},
        )
        pk = endpoint.pk
        transaction.on_commit(lambda: disabled_notice_send(pk))
        logger.warning("webhook endpoint disabled", endpoint=endpoint.pk, failures=endpoint.consecutive_failures)
    endpoint.save(update_fields=fields)


def disabled_notice_send(endpoint_id: int) -> int:
    """Email the tenant's owners and admins that an endpoint was disabled; returns the number of recipients."""
    endpoint = WebhookEndpoint.objects.select_related("tenant").filter(pk=endpoint_id).first()
    if endpoint is None:
        return 0
    recipients = sorted(
        Membership.objects.filter(tenant_id=endpoint.tenant_id, role__in=[Role.OWNER, Role.ADMIN]).values_list(
            "user__email", flat=True
        )
    )
    if not recipients:
        return 0
    tenant = endpoint.tenant
    context = {
        "endpoint": endpoint,
        "tenant": tenant,
        "site_name": settings.SITE_NAME,
        "url": f"{settings.PORTAL_URL}/t/{tenant.slug}/webhooks/{endpoint.pk}/",
    }
    subject = f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Webhook to {endpoint.url} was disabled in {tenant.name}"
    try:
        send_mail(subject, render_to_string("webhooks/email/disabled.txt", context), None, recipients)
    except Exception:  # the endpoint stays disabled and the page says so; the mail is a courtesy
        logger.exception("webhook disabled notice not sent", endpoint=endpoint_id)
        return 0
    return len(recipients)


# --- Housekeeping (beat) ------------------------------------------------------------------------


def deliveries_sweep(limit: int = 500) -> list[int]:
    """Nudge open deliveries whose time has come and that no task is about to send (a retry beyond the
    countdown limit, a lost message, a worker that died mid-attempt). Returns the ids nudged."""
    from .tasks import deliver_webhook

    overdue = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(state__in=OPEN_STATES, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        deliver_webhook.delay(pk)
    return ids


def deliveries_prune(batch: int = 5000) -> int:
    """Delete deliveries older than WEBHOOK_RETENTION_DAYS, a batch at a time; returns how many went."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    ids = list(
        WebhookDelivery.objects.filter(created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return 0
    deleted, _ = WebhookDelivery.objects.filter(pk__in=ids).delete()
    return deleted
