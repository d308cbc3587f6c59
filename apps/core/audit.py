"""The one way to write the audit trail, reachable from every app.

Every app records its actions here, including tenants, which sits below the audit app in the import
order and so cannot import it. The audit app installs the writer when Django starts (the same
installed-seam shape as `governance`); until then recording refuses loudly rather than losing events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_writer: Callable[..., Any] | None = None


def install(writer: Callable[..., Any]) -> None:
    """Called by the audit app's ready(): the function that stores one audit event."""
    global _writer
    _writer = writer


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: Any = None,
    tenant: Any = None,
    changes: dict | None = None,
    object_display: str | None = None,
) -> Any:
    """Record one action, in the caller's transaction, with the request's id, IP and user agent.

    `actor` is a user, a request, a Principal or None (the platform itself). `changes` maps
    field -> [before, after]. Never pass secrets: the trail is readable by admins.
    """
    if _writer is None:
        raise ImproperlyConfigured("apps.audit is not installed: nothing would record the audit trail.")
    return _writer(actor=actor, action=action, obj=obj, tenant=tenant, changes=changes, object_display=object_display)


def diff(before: dict, after: dict) -> dict:
    """The fields whose value changed, as {field: [before, after]}."""
    return {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}
