"""Platform events: what happened, said once for whoever listens (outbound webhooks, notifications).

Services call `emit_on_commit`; receivers of `platform_event` run only after the transaction that
made the change committed, so nobody outside hears of a change that was rolled back. Event types are
dotted names ("deployment.succeeded", "change_request.approved", "apikey.expiring", "quota.warning").
"""

from django.db import transaction
from django.dispatch import Signal

# Sent with tenant_id (int), event (str) and data (a JSON-ready dict).
platform_event = Signal()


def emit_on_commit(*, tenant_id: int, event: str, data: dict) -> None:
    transaction.on_commit(lambda: platform_event.send(sender=None, tenant_id=tenant_id, event=event, data=data))
