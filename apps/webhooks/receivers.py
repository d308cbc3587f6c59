"""Platform events become deliveries: platform_event (deployments, change requests; sent after commit)
and the apikeys app's quota_warning (sent inside the transaction that records the warning).

A receiver never fails the change that caused the event (it has committed already, or must not be
undone by us): anything it cannot record is logged.
"""

import structlog
from django.db import transaction
from django.dispatch import receiver

from apps.apikeys.signals import quota_warning
from apps.core.events import platform_event

from .events import QUOTA_WARNING
from .services import event_dispatch

logger = structlog.get_logger(__name__)


@receiver(platform_event, dispatch_uid="webhooks.platform_event")
def on_platform_event(sender, *, tenant_id: int, event: str, data: dict, **kwargs) -> None:
    try:
        event_dispatch(tenant_id=tenant_id, event=event, data=data)
    except Exception:
        logger.exception("webhook deliveries not recorded", tenant=tenant_id, webhook_event=event)


@receiver(quota_warning, dispatch_uid="webhooks.quota_warning")
def on_quota_warning(sender, *, notice, **kwargs) -> None:
    data = {
        "period": notice.period,
        "period_start": notice.period_start.isoformat(),
        "threshold": notice.threshold,
        "used": notice.used,
        "quota": notice.quota,
    }
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the caller's transaction usable
            event_dispatch(tenant_id=notice.tenant_id, event=QUOTA_WARNING, data=data)
    except Exception:
        logger.exception("webhook deliveries not recorded", tenant=notice.tenant_id, webhook_event=QUOTA_WARNING)
