"""Keys nearing their end: reminders 14, 7 and 1 days before expiry, automatic rotation a week before,
and the report of keys never used or about to expire.

The beat task calls `key_lifecycle_run`. Each reminder is recorded on the key (`reminders_sent`) in the
same transaction that decides to send it, so it goes out once however often or wherever the task runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.events import emit_on_commit

from .models import APIKey
from .services import apikey_auto_rotate

logger = structlog.get_logger(__name__)

REMINDER_DAYS = (14, 7, 1)
AUTO_ROTATE_DAYS = 7
KEY_EXPIRING = "apikey.expiring"
REPORT_EXPIRING_DAYS = 14
REPORT_UNUSED_DAYS = 30
REPORT_LIMIT = 200


def key_lifecycle_run(*, limit: int = 1000) -> dict:
    """Beat: rotate the auto-rotating keys that are due, then send the due expiry reminders."""
    now = timezone.now()
    due = (
        APIKey.objects.filter(
            revoked_at=None,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=max(REMINDER_DAYS)),
            successors=None,
        )
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"rotated": 0, "reminded": 0}
    for pk in list(due):
        try:
            outcome = _key_lifecycle_step(pk)
        except DatabaseError:
            logger.exception("api key lifecycle step failed", api_key=pk)
            continue
        if outcome:
            counts[outcome] += 1
    return counts


def _key_lifecycle_step(pk: int) -> str | None:
    """One key: auto-rotate it when due, else remind its owner when a reminder is due. Mail goes out after
    the commit, so a rolled-back step sends nothing."""
    with transaction.atomic():
        api_key = (
            APIKey.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant", "user")
            .filter(pk=pk, revoked_at=None, successors=None)
            .first()
        )
        if api_key is None or not api_key.is_active:
            return None
        days_left = (api_key.expires_at - timezone.now()) / timedelta(days=1)
        # Not a key whose successor would be due at once (a lifetime of a week or less), nor one whose own
        # rotated plaintext still waits to be revealed: those get reminders instead.
        rotatable = api_key.lifetime > timedelta(days=AUTO_ROTATE_DAYS) and not api_key.sealed_key
        if api_key.auto_rotate and rotatable and days_left <= AUTO_ROTATE_DAYS:
            try:
                successor = apikey_auto_rotate(api_key=api_key)
            except ApplicationError as exc:  # e.g. the owner's role no longer grants the scopes: remind instead
                logger.info("api key not auto-rotated", api_key=pk, code=exc.code)
            else:
                transaction.on_commit(
                    lambda: _send(
                        successor, "apikeys/email/key_rotated.txt", f"A new API key replaces “{api_key.name}”"
                    )
                )
                return "rotated"
        return _remind(api_key, days_left)


def _remind(api_key: APIKey, days_left: float) -> str | None:
    crossed = [days for days in REMINDER_DAYS if days_left <= days]
    if not crossed or min(crossed) in api_key.reminders_sent:
        return None
    # A key created with five days left gets the 7-day reminder only, not the 14-day one as well.
    api_key.reminders_sent = sorted(set(api_key.reminders_sent) | set(crossed), reverse=True)
    api_key.save(update_fields=["reminders_sent"])
    whole_days = math.ceil(days_left)  # "expires in 3 days" for a key with 2 days and 23 hours left
    emit_on_commit(
        tenant_id=api_key.tenant_id,
        event=KEY_EXPIRING,
        data={
            "api_key": api_key.pk,
            "name": api_key.name,
            "prefix": api_key.prefix,
            "owner": api_key.user.email,
            "expires_at": api_key.expires_at.isoformat(),
            "days_left": whole_days,
        },
    )
    when = f"in {whole_days} day{'s' if whole_days != 1 else ''}"
    transaction.on_commit(
        lambda: _send(
            api_key,
            "apikeys/email/key_expiring.txt",
            f"Your API key “{api_key.name}” expires {when}",
            days_left=whole_days,
        )
    )
    return "reminded"


def _send(api_key: APIKey, template: str, subject: str, **extra) -> None:
    """Email the key's owner; never the key itself (an auto-rotated one waits in the console)."""
    context = {
        "key": api_key,
        "tenant": api_key.tenant,
        "site_name": settings.SITE_NAME,
        "console_url": f"{settings.PORTAL_URL}/console/?tenant={api_key.tenant.slug}",
        **extra,
    }
    try:
        send_mail(
            f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            render_to_string(template, context),
            None,
            [api_key.user.email],
        )
    except Exception:  # a mail server being down must not stop the other keys' reminders
        logger.exception("api key email not sent", api_key=api_key.pk, template=template)


# --- The report -------------------------------------------------------------------------------------


@dataclass
class KeyReport:
    never_used: list[APIKey]  # live keys older than `unused_days` that never made a request
    expiring: list[APIKey]  # live keys expiring within REPORT_EXPIRING_DAYS, soonest first
    unused_days: int
    expiring_days: int = REPORT_EXPIRING_DAYS


def key_report(keys, *, unused_days: int = REPORT_UNUSED_DAYS) -> KeyReport:
    """Over `keys` (already restricted to what the reader may see): live keys never used though older than
    `unused_days`, and live keys expiring within two weeks. At most REPORT_LIMIT of each."""
    now = timezone.now()
    live = keys.filter(revoked_at=None, expires_at__gt=now).select_related("tenant", "user")
    never_used = live.filter(last_used_at=None, created_at__lte=now - timedelta(days=unused_days))
    expiring = live.filter(expires_at__lte=now + timedelta(days=REPORT_EXPIRING_DAYS))
    return KeyReport(
        never_used=list(never_used.order_by("created_at")[:REPORT_LIMIT]),
        expiring=list(expiring.order_by("expires_at")[:REPORT_LIMIT]),
        unused_days=unused_days,
    )
