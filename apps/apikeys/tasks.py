"""API-key tasks: thin, ids in, a function called."""

from celery import shared_task

from . import lifecycle, notices, usage
from .models import QuotaNotice


@shared_task
def flush_api_usage() -> int:
    """Beat, every minute: add the requests counted in Redis to UsageDaily."""
    return usage.flush()


@shared_task
def send_quota_warning(notice_id: int) -> int:
    notice = QuotaNotice.objects.select_related("tenant").filter(pk=notice_id).first()
    return notices.quota_notice_send(notice) if notice else 0


@shared_task
def api_key_lifecycle() -> dict:
    """Beat, hourly: auto-rotate keys that are due and send expiry reminders (14, 7 and 1 days ahead)."""
    return lifecycle.key_lifecycle_run()
