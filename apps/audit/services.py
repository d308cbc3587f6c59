"""The audit writer: one AuditEvent row per action. Callers use `apps.core.audit.audit_record`,
which this app installs when Django starts."""

from __future__ import annotations

from django.db import models

from apps.core.request_id import current_client, current_request_id
from apps.tenants.principals import as_principal

from .models import AuditEvent


def _actor_parts(actor) -> tuple[object | None, int | None, str]:
    """(user, api key id, display) for a user, a request, a Principal, or nothing (the platform itself)."""
    if actor is None:
        return None, None, "platform"
    principal = as_principal(actor)
    user, api_key = principal.user, principal.api_key
    if not getattr(user, "is_authenticated", False):
        return None, None, "anonymous"
    display = user.email + (f" (key {api_key.lookup})" if api_key is not None else "")
    return user, getattr(api_key, "pk", None), display


def write_event(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    tenant=None,
    changes: dict | None = None,
    object_display: str | None = None,
) -> AuditEvent:
    """Store one action, in the caller's transaction, with the request's id, IP and user agent."""
    user, api_key_id, actor_display = _actor_parts(actor)
    if tenant is None and obj is not None:
        tenant = obj if obj._meta.model_name == "tenant" else getattr(obj, "tenant", None)
    ip, user_agent = current_client()
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=user,
        actor_display=actor_display,
        api_key_id=api_key_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_display=(object_display if object_display is not None else str(obj) if obj is not None else "")[:255],
        changes=changes or {},
        request_id=current_request_id() or "",
        ip=ip,
        user_agent=user_agent,
    )
