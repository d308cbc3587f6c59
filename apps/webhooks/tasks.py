"""Webhook tasks: thin, ids in, a delivery function called."""

from celery import shared_task

from . import delivery


@shared_task
def deliver_webhook(delivery_id: int) -> str | None:
    return delivery.delivery_attempt(delivery_id)


@shared_task
def webhooks_housekeeping() -> dict:
    """Beat, every minute: send what is due and not queued, and drop deliveries older than
    WEBHOOK_RETENTION_DAYS. ("apikey.expiring" comes from the API-key lifecycle task, like any event.)"""
    return {"nudged": len(delivery.deliveries_sweep()), "pruned": delivery.deliveries_prune()}
