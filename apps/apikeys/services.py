"""Creating and revoking API keys."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.models import Quota, Tenant
from apps.tenants.principals import as_principal
from apps.tenants.quotas import quota_check, register_usage
from apps.tenants.roles import scope_allowed_for
from apps.tenants.services import require

from . import keys
from .models import APIKey

DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365

SCOPE_NOT_ALLOWED = "scope_not_allowed"
INVALID = "invalid"
ALREADY_REVOKED = "already_revoked"


def _active_keys(tenant: Tenant, environment=None) -> int:
    return APIKey.objects.filter(tenant=tenant, revoked_at=None, expires_at__gt=timezone.now()).count()


register_usage(Quota.Resource.API_KEYS, _active_keys)


def _clean_ips(allowed_ips: list[str] | None) -> list[str]:
    cleaned = []
    for value in allowed_ips or []:
        value = value.strip()
        if not value:
            continue
        try:
            cleaned.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise ApplicationError(f"“{value}” is not an IP address or CIDR range.", code=INVALID,
                                   field="allowed_ips") from None
    return cleaned


@transaction.atomic
def apikey_create(
    *,
    actor,
    tenant: Tenant,
    name: str,
    scopes: list[str],
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    allowed_ips: list[str] | None = None,
) -> tuple[APIKey, str]:
    """Create a key for the actor in `tenant`. Returns the row and the only copy of the plaintext key."""
    principal = as_principal(actor)
    if principal.api_key is not None:
        raise ApplicationError("API keys are created by people, not by other keys.", code="permission_denied",
                               status=403)
    require(policy_for(APIKey).can_add(principal, tenant), "You cannot create API keys in this tenant.", tenant=tenant)
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the key a name.", code=INVALID, field="name")
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise ApplicationError("Choose at least one scope.", code=INVALID, field="scopes")
    role = principal.role_in(tenant.pk)
    beyond = [scope for scope in scopes if not scope_allowed_for(role, scope)]
    if beyond:
        raise ApplicationError(f"Your role ({role}) cannot grant: {', '.join(beyond)}.", code=SCOPE_NOT_ALLOWED,
                               field="scopes")
    try:
        days = int(expires_in_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ApplicationError(f"A key expires after 1 to {MAX_EXPIRY_DAYS} days.", code=INVALID,
                               field="expires_in_days")
    ips = _clean_ips(allowed_ips)
    quota_check(tenant=tenant, resource=Quota.Resource.API_KEYS)

    lookup, plaintext = keys.generate()
    api_key = APIKey.objects.create(
        tenant=tenant, user=principal.user, name=name, lookup=lookup, digest=keys.digest(plaintext),
        scopes=scopes, allowed_ips=ips, expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(actor=principal, action="apikey.create", obj=api_key,
                 changes={"scopes": [None, scopes], "expires_at": [None, api_key.expires_at.isoformat()],
                          "allowed_ips": [None, ips]})
    return api_key, plaintext


@transaction.atomic
def apikey_revoke(*, actor, api_key: APIKey) -> APIKey:
    """Revoke at once: the next request with the key is refused."""
    require(policy_for(APIKey).can(actor, "delete", api_key), "You cannot revoke this key.", tenant=api_key.tenant)
    api_key = APIKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        raise ApplicationError("This key is already revoked.", code=ALREADY_REVOKED, status=409)
    api_key.revoked_at, api_key.revoked_by = timezone.now(), as_principal(actor).user
    api_key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="apikey.revoke", obj=api_key)
    return api_key
