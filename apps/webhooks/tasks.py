"""Webhook tasks: thin, ids in, a delivery function called."""

from celery import shared_task

from . import delivery, expiry


@shared_task
def deliver_webhook(delivery_id: int) -> str | None:
    return delivery.delivery_attempt(delivery_id)


@shared_task
def webhooks_housekeeping() -> dict:
    """Beat, every minute: send what is due and not queued, announce keys about to expire, and drop
    deliveries older than WEBHOOK_RETENTION_DAYS."""
    return {"nudged": delivery.deliveries_sweep(), "expiring_keys": expiry.expiring_keys_announce(),
            "pruned": delivery.deliveries_prune()}
