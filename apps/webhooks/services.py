"""Every change to webhook endpoints and deliveries made by people: subscribe, edit, rotate, enable,
test, replay, and the operator's private-target switch; and turning platform events into deliveries.

Each service checks the policy, validates, writes its rows and one audit event in one transaction, and
raises ApplicationError with a stable code when it refuses. Sending happens in tasks (delivery.py).
"""

from __future__ import annotations

import uuid

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record, diff
from apps.core.errors import INVALID, ApplicationError, require
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from .events import TEST_EVENT, matches, subscription_check
from .models import WebhookDelivery, WebhookEndpoint
from .signing import secret_generate
from .targets import target_check

logger = structlog.get_logger(__name__)

# Refusals, as constants that tests import.
TOO_MANY = "too_many_endpoints"
ENDPOINT_DISABLED = "endpoint_disabled"
ALREADY_ACTIVE = "already_active"
UNCHANGED = object()
_URL = URLValidator(schemes=["http", "https"])


def _clean_url(url: str, *, allow_private: bool) -> str:
    url = (url or "").strip()
    if len(url) > 500:
        raise ApplicationError("Keep the URL to 500 characters.", code=INVALID, field="url")
    try:
        _URL(url)
    except ValidationError:
        # Hosts like "localhost" fail Django's URL pattern; let the target rule explain those.
        if not url.startswith(("http://", "https://")):
            raise ApplicationError("Give an http:// or https:// URL.", code=INVALID, field="url") from None
    target_check(url, allow_private=allow_private)
    return url


def _clean_events(events) -> list[str]:
    try:
        return subscription_check(events)
    except ValueError as exc:
        raise ApplicationError(str(exc), code=INVALID, field="events") from None


def _state(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
    }


@transaction.atomic
def endpoint_create(
    *, actor: Principal, tenant: Tenant, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Subscribe a URL to events. Returns the endpoint and the only copy of its signing secret."""
    require(
        policy_for(WebhookEndpoint).can_add(actor, tenant), "Only owners and admins manage webhooks.", tenant=tenant
    )
    url = _clean_url(url, allow_private=False)
    events = _clean_events(events)
    description = (description or "").strip()
    if len(description) > 200:
        raise ApplicationError("Keep the description to 200 characters.", code=INVALID, field="description")
    list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))
    if WebhookEndpoint.objects.filter(tenant=tenant).count() >= settings.WEBHOOK_MAX_ENDPOINTS_PER_TENANT:
        raise ApplicationError(
            f"A tenant has at most {settings.WEBHOOK_MAX_ENDPOINTS_PER_TENANT} webhook endpoints; remove one first.",
            code=TOO_MANY,
            status=409,
        )
    secret = secret_generate()
    endpoint = WebhookEndpoint(tenant=tenant, url=url, events=events, description=description, created_by=actor.user)
    endpoint.secret = secret
    endpoint.save()
    audit_record(actor=actor, action="webhook.create", obj=endpoint, changes=diff({}, _state(endpoint)))
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *, actor: Principal, endpoint: WebhookEndpoint, url=UNCHANGED, events=UNCHANGED, description=UNCHANGED
) -> WebhookEndpoint:
    """Change the URL, the events or the description. A new URL is checked like a new endpoint's."""
    require(
        policy_for(WebhookEndpoint).can_change(actor, endpoint),
        "Only owners and admins manage webhooks.",
        tenant=endpoint.tenant,
    )
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = {**_state(endpoint), "allow_private": endpoint.allow_private}
    if url is not UNCHANGED and url != endpoint.url:
        # An operator approved a private target for the URL they saw; a new URL is judged like a new
        # endpoint's, and the exception ends with the URL it was granted for.
        endpoint.url = _clean_url(url, allow_private=False)
        endpoint.allow_private, endpoint.allow_private_url = False, ""
    if events is not UNCHANGED:
        endpoint.events = _clean_events(events)
    if description is not UNCHANGED:
        endpoint.description = (description or "").strip()[:200]
    endpoint.save(update_fields=["url", "events", "description", "allow_private", "allow_private_url"])
    audit_record(
        actor=actor,
        action="webhook.update",
        obj=endpoint,
        changes=diff(before, {**_state(endpoint), "allow_private": endpoint.allow_private}),
    )
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Principal, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its delivery log; nothing more is sent to it."""
    require(
        policy_for(WebhookEndpoint).can_delete(actor, endpoint),
        "Only owners and admins manage webhooks.",
        tenant=endpoint.tenant,
    )
    audit_record(actor=actor, action="webhook.delete", obj=endpoint, changes=diff(_state(endpoint), {}))
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, actor: Principal, endpoint: WebhookEndpoint) -> tuple[WebhookEndpoint, str]:
    """Replace the signing secret at once; returns the only copy of the new one."""
    require(
        policy_for(WebhookEndpoint).can_change(actor, endpoint),
        "Only owners and admins manage webhooks.",
        tenant=endpoint.tenant,
    )
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = secret_generate()
    endpoint.secret, endpoint.secret_rotated_at = secret, timezone.now()
    endpoint.save(update_fields=["secret_encrypted", "secret_rotated_at"])
    audit_record(actor=actor, action="webhook.rotate_secret", obj=endpoint)
    return endpoint, secret


@transaction.atomic
def endpoint_enable(*, actor: Principal, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn a disabled endpoint back on, with a clean failure count."""
    require(
        policy_for(WebhookEndpoint).can_change(actor, endpoint),
        "Only owners and admins manage webhooks.",
        tenant=endpoint.tenant,
    )
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.is_active:
        raise ApplicationError("This endpoint is already enabled.", code=ALREADY_ACTIVE, status=409)
    target_check(endpoint.url, allow_private=endpoint.private_approved)
    reason = endpoint.disabled_reason
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    endpoint.consecutive_failures = 0
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "consecutive_failures"])
    audit_record(
        actor=actor,
        action="webhook.enable",
        obj=endpoint,
        changes={"is_active": [False, True], "disabled_reason": [reason, ""]},
    )
    return endpoint


@transaction.atomic
def endpoint_allow_private(
    *, operator: Principal, endpoint: WebhookEndpoint, allow_private: bool, url: str | None = None
) -> WebhookEndpoint:
    """Operators only: let this endpoint reach private and loopback addresses (an internal receiver).

    The exception covers exactly one URL: the one given here (the internal receiver's, which the tenant
    cannot set itself), else the endpoint's current one. A later URL change by the tenant ends it."""
    require(operator.is_operator, "Only platform operators allow private webhook targets.")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = {
        "url": endpoint.url,
        "allow_private": endpoint.allow_private,
        "allow_private_url": endpoint.allow_private_url,
    }
    endpoint.allow_private = bool(allow_private)
    if url is not None and endpoint.allow_private:
        endpoint.url = _clean_url(url, allow_private=True)
    endpoint.allow_private_url = endpoint.url if endpoint.allow_private else ""
    endpoint.save(update_fields=["url", "allow_private", "allow_private_url"])
    audit_record(
        actor=operator,
        action="operator.webhook.allow_private",
        obj=endpoint,
        tenant=endpoint.tenant,
        changes=diff(
            before,
            {
                "url": endpoint.url,
                "allow_private": endpoint.allow_private,
                "allow_private_url": endpoint.allow_private_url,
            },
        ),
    )
    return endpoint


# --- Deliveries ----------------------------------------------------------------------------------


def _payload(*, event_id: uuid.UUID, event: str, tenant_slug: str, data: dict) -> dict:
    return {
        "id": str(event_id),
        "type": event,
        "created_at": timezone.now().isoformat(),
        "tenant": tenant_slug,
        "data": data,
    }


def _send_on_commit(delivery: WebhookDelivery) -> None:
    from .tasks import deliver_webhook

    def send():
        try:
            deliver_webhook.delay(delivery.pk)
        except Exception:  # the broker being down must not fail the change; the sweeper sends it later
            logger.exception("webhook delivery not queued", delivery=delivery.pk)

    transaction.on_commit(send)


def _new_delivery(endpoint: WebhookEndpoint, event: str, payload: dict, replay_of=None) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        tenant_id=endpoint.tenant_id,
        endpoint=endpoint,
        event=event,
        event_id=payload["id"],
        payload=payload,
        next_attempt_at=timezone.now(),
        replay_of=replay_of,
    )
    _send_on_commit(delivery)
    return delivery


@transaction.atomic
def event_dispatch(*, tenant_id: int, event: str, data: dict) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the tenant subscribed to the event, sent after commit."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True).select_related("tenant")
        if event != TEST_EVENT and matches(endpoint.events, event)
    ]
    if not endpoints:
        return []
    payload = _payload(event_id=uuid.uuid4(), event=event, tenant_slug=endpoints[0].tenant.slug, data=data)
    return [_new_delivery(endpoint, event, payload) for endpoint in endpoints]


def _require_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise ApplicationError("This endpoint is disabled; enable it first.", code=ENDPOINT_DISABLED, status=409)


@transaction.atomic
def endpoint_send_test(*, actor: Principal, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a "webhook.test" event to this endpoint only."""
    require(
        policy_for(WebhookEndpoint).can_change(actor, endpoint),
        "Only owners and admins manage webhooks.",
        tenant=endpoint.tenant,
    )
    _require_active(endpoint)
    data = {"endpoint": endpoint.pk, "message": "A test event sent from the portal."}
    payload = _payload(event_id=uuid.uuid4(), event=TEST_EVENT, tenant_slug=endpoint.tenant.slug, data=data)
    delivery = _new_delivery(endpoint, TEST_EVENT, payload)
    audit_record(actor=actor, action="webhook.test", obj=endpoint, changes={"delivery": [None, delivery.pk]})
    return delivery


@transaction.atomic
def delivery_replay(*, actor: Principal, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's payload again as a new delivery (same event id, fresh timestamp and signature)."""
    require(
        policy_for(WebhookDelivery).can(actor, "replay", delivery),
        "Only owners and admins replay deliveries.",
        tenant=delivery.tenant,
    )
    endpoint = delivery.endpoint
    _require_active(endpoint)
    replay = _new_delivery(endpoint, delivery.event, delivery.payload, replay_of=delivery)
    audit_record(
        actor=actor,
        action="webhook.replay",
        obj=endpoint,
        changes={"replay_of": [None, delivery.pk], "delivery": [None, replay.pk]},
    )
    return replay
