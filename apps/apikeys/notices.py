"""Warning tenants when their API usage nears or reaches a quota, once per period and threshold."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from django.template.loader import render_to_string

from apps.tenants.models import Membership
from apps.tenants.roles import Role

from . import ratelimit
from .models import QuotaNotice
from .signals import quota_warning

logger = structlog.get_logger(__name__)


def quota_crossed(*, tenant_id: int, warnings: list[str], decision) -> None:
    """Called by the throttle with the thresholds the limiter saw crossed ("day:80"). Never fails a request."""
    limits = ratelimit.limits_for(tenant_id)
    today = datetime.now(UTC).date()
    for warning in warnings:
        period, threshold = warning.split(":")
        if period == "day":
            start, used, quota = today, decision.day_used, limits.daily_quota
        else:
            start, used, quota = today.replace(day=1), decision.month_used, limits.monthly_quota
        try:
            on_quota_warning(
                tenant_id=tenant_id,
                period=period,
                period_start=start,
                threshold=int(threshold),
                used=used,
                quota=quota or 0,
            )
        except DatabaseError:
            logger.exception("quota warning not recorded", tenant=tenant_id, warning=warning)


@transaction.atomic
def on_quota_warning(
    *, tenant_id: int, period: str, period_start, threshold: int, used: int, quota: int
) -> QuotaNotice | None:
    """Record the warning; the first time only, send `quota_warning` and email the owners and admins."""
    notice, created = QuotaNotice.objects.get_or_create(
        tenant_id=tenant_id,
        period=period,
        period_start=period_start,
        threshold=threshold,
        defaults={"used": used, "quota": quota},
    )
    if not created:
        return None
    quota_warning.send(sender=QuotaNotice, notice=notice)

    def queue_email():
        from .tasks import send_quota_warning

        try:
            send_quota_warning.delay(notice.pk)
        except Exception:  # the broker being down must not fail the API call that crossed the line
            logger.exception("quota warning email not queued", notice=notice.pk)

    transaction.on_commit(queue_email)
    return notice


def quota_notice_send(notice: QuotaNotice) -> int:
    """Email the tenant's owners and admins about one notice; returns the number of recipients."""
    recipients = sorted(
        Membership.objects.filter(tenant_id=notice.tenant_id, role__in=[Role.OWNER, Role.ADMIN]).values_list(
            "user__email", flat=True
        )
    )
    if not recipients:
        return 0
    tenant = notice.tenant
    context = {
        "notice": notice,
        "tenant": tenant,
        "site_name": settings.SITE_NAME,
        "url": f"{settings.PORTAL_URL}/t/{tenant.slug}/keys/usage/",
        "period_word": "daily" if notice.period == QuotaNotice.Period.DAY else "monthly",
    }
    reached = "has used up" if notice.threshold >= 100 else f"has used {notice.threshold}% of"
    subject = f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{tenant.name} {reached} its {context['period_word']} API quota"
    send_mail(subject, render_to_string("apikeys/email/quota_warning.txt", context), None, recipients)
    return len(recipients)
