"""Creating, rotating and revoking API keys; plans and their assignment to tenants (operators only)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.core import crypto
from apps.core.audit import audit_record
from apps.core.errors import INVALID, NOT_FOUND, ApplicationError, denied, require, validate_model
from apps.core.events import emit_on_commit
from apps.core.policies import policy_for
from apps.core.realtime import access_changed_on_commit
from apps.tenants.models import Quota, Tenant
from apps.tenants.principals import Principal
from apps.tenants.quotas import quota_check, register_usage
from apps.tenants.roles import scope_allowed_for

from . import keys
from .models import APIKey, Plan, TenantPlan
from .policies import step_up_for_key

DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365

SCOPE_NOT_ALLOWED = "scope_not_allowed"
ALREADY_REVOKED = "already_revoked"
NOT_ACTIVE = "key_not_active"
ALREADY_ROTATED = "already_rotated"
NOTHING_TO_REVEAL = "nothing_to_reveal"
NOT_YOUR_KEY = "Only the key's owner can do this with it."
MAX_OVERLAP_HOURS = 168
DEFAULT_OVERLAP_HOURS = 24
KEY_ROTATED = "apikey.rotated"


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
            raise ApplicationError(
                f"“{value}” is not an IP address or CIDR range.", code=INVALID, field="allowed_ips"
            ) from None
    return cleaned


@transaction.atomic
def apikey_create(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    scopes: list[str],
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    allowed_ips: list[str] | None = None,
    auto_rotate: bool = False,
) -> tuple[APIKey, str]:
    """Create a key for the actor in `tenant`. Returns the row and the only copy of the plaintext key."""
    if actor.api_key is not None:
        raise denied("API keys are created by people, not by other keys.")
    require(policy_for(APIKey).can_add(actor, tenant), "You cannot create API keys in this tenant.", tenant=tenant)
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the key a name.", code=INVALID, field="name")
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise ApplicationError("Choose at least one scope.", code=INVALID, field="scopes")
    role = actor.role_in(tenant.pk)
    beyond = [scope for scope in scopes if not scope_allowed_for(role, scope)]
    if beyond:
        raise ApplicationError(
            f"Your role ({role}) cannot grant: {', '.join(beyond)}.", code=SCOPE_NOT_ALLOWED, field="scopes"
        )
    step_up_for_key(actor, scopes, doing="Making")
    try:
        days = int(expires_in_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ApplicationError(
            f"A key expires after 1 to {MAX_EXPIRY_DAYS} days.", code=INVALID, field="expires_in_days"
        )
    ips = _clean_ips(allowed_ips)
    quota_check(tenant=tenant, resource=Quota.Resource.API_KEYS)

    lookup, plaintext = keys.generate()
    api_key = APIKey.objects.create(
        tenant=tenant,
        user=actor.user,
        name=name,
        lookup=lookup,
        digest=keys.digest(plaintext),
        scopes=scopes,
        allowed_ips=ips,
        expires_at=timezone.now() + timedelta(days=days),
        auto_rotate=bool(auto_rotate),
    )
    audit_record(
        actor=actor,
        action="apikey.create",
        obj=api_key,
        changes={
            "scopes": [None, scopes],
            "expires_at": [None, api_key.expires_at.isoformat()],
            "allowed_ips": [None, ips],
            "auto_rotate": [None, api_key.auto_rotate],
        },
    )
    return api_key, plaintext


def _require_owner(actor: Principal, api_key: APIKey, message: str) -> None:
    """The key's own user, signed in (not through a key): keys never mint keys, and admins, who may revoke
    everyone's keys, may not mint keys for others. Anyone else gets the same 404 as a missing key. In a
    suspended tenant even the owner changes nothing: only revoking goes on there (APIKeyPolicy)."""
    if not policy_for(APIKey).can(actor, "view", api_key):
        raise ApplicationError("Not found.", code=NOT_FOUND, status=404)
    if actor.api_key is not None:
        raise denied(f"{message} API keys are managed by people, not by other keys.")
    require(api_key.user_id == actor.user.pk, f"{message} {NOT_YOUR_KEY}")
    require(api_key.tenant.is_active, tenant=api_key.tenant)


def _successor(api_key: APIKey, *, now) -> tuple[APIKey, str]:
    """A fresh key with the same owner, name, scopes, IP ranges and lifetime (capped), linked to the old one."""
    lifetime = min(api_key.lifetime, timedelta(days=MAX_EXPIRY_DAYS))
    lookup, plaintext = keys.generate()
    successor = APIKey.objects.create(
        tenant=api_key.tenant,
        user=api_key.user,
        name=api_key.name,
        lookup=lookup,
        digest=keys.digest(plaintext),
        scopes=api_key.scopes,
        allowed_ips=api_key.allowed_ips,
        expires_at=now + lifetime,
        auto_rotate=api_key.auto_rotate,
        rotated_from=api_key,
    )
    return successor, plaintext


def _rotate(*, actor: Principal | None, api_key: APIKey, old_expires_at, automatic: bool) -> tuple[APIKey, str]:
    """Lock, check, make the successor and shorten the old key; the caller's transaction holds it all."""
    api_key = APIKey.objects.select_for_update(of=("self",)).select_related("tenant", "user").get(pk=api_key.pk)
    if not api_key.is_active:
        raise ApplicationError(f"This key is {api_key.state}; create a new one instead.", code=NOT_ACTIVE, status=409)
    if api_key.successors.exists():
        raise ApplicationError(
            "This key has been rotated already; rotate its successor.", code=ALREADY_ROTATED, status=409
        )
    role = Principal(api_key.user).role_in(api_key.tenant_id)
    beyond = [scope for scope in api_key.scopes if not scope_allowed_for(role, scope)]
    if beyond:
        raise ApplicationError(
            f"The owner's role ({role or 'none'}) no longer grants: {', '.join(beyond)}.", code=SCOPE_NOT_ALLOWED
        )
    now = timezone.now()
    successor, plaintext = _successor(api_key, now=now)
    before = api_key.expires_at
    api_key.expires_at = min(before, old_expires_at)
    api_key.save(update_fields=["expires_at"])
    audit_record(
        actor=actor,
        action="apikey.rotate",
        obj=api_key,
        tenant=api_key.tenant,
        changes={
            "expires_at": [before.isoformat(), api_key.expires_at.isoformat()],
            "successor": [None, successor.pk],
            "automatic": [None, automatic],
        },
    )
    emit_on_commit(
        tenant_id=api_key.tenant_id,
        event=KEY_ROTATED,
        data={
            "api_key": api_key.pk,
            "name": api_key.name,
            "prefix": api_key.prefix,
            "old_expires_at": api_key.expires_at.isoformat(),
            "successor": successor.pk,
            "successor_prefix": successor.prefix,
            "expires_at": successor.expires_at.isoformat(),
            "owner": api_key.user.email,
            "automatic": automatic,
        },
    )
    return successor, plaintext


@transaction.atomic
def apikey_rotate(
    *, actor: Principal, api_key: APIKey, overlap_hours: int = DEFAULT_OVERLAP_HOURS
) -> tuple[APIKey, str]:
    """Replace a live key with a fresh one; the old key keeps working for `overlap_hours` (0 to 168) or until
    its own expiry, whichever comes first. Returns the successor and the only copy of its plaintext."""
    _require_owner(actor, api_key, "You cannot rotate this key.")
    try:
        hours = int(overlap_hours)
    except (TypeError, ValueError):
        hours = -1
    if not 0 <= hours <= MAX_OVERLAP_HOURS:
        raise ApplicationError(f"The overlap is 0 to {MAX_OVERLAP_HOURS} hours.", code=INVALID, field="overlap_hours")
    step_up_for_key(actor, api_key.scopes, doing="Rotating")
    return _rotate(
        actor=actor, api_key=api_key, old_expires_at=timezone.now() + timedelta(hours=hours), automatic=False
    )


def apikey_auto_rotate(*, api_key: APIKey) -> APIKey:
    """The platform rotates a key marked `auto_rotate`: the old key works until its own expiry, and the
    successor's plaintext waits, encrypted, for its owner to reveal it once. Not in a suspended tenant (the
    owner is reminded of the expiry instead). Call inside a transaction."""
    require(api_key.tenant.is_active, tenant=api_key.tenant)
    successor, plaintext = _rotate(actor=None, api_key=api_key, old_expires_at=api_key.expires_at, automatic=True)
    successor.sealed_key = crypto.encrypt(plaintext)
    successor.save(update_fields=["sealed_key"])
    return successor


@transaction.atomic
def apikey_reveal(*, actor: Principal, api_key: APIKey) -> str:
    """Show an auto-rotated key's plaintext to its owner, once: the stored ciphertext is wiped."""
    _require_owner(actor, api_key, "You cannot reveal this key.")
    api_key = APIKey.objects.select_for_update().get(pk=api_key.pk)
    if not api_key.sealed_key:
        raise ApplicationError(
            "This key was revealed already (or never waited to be); the portal keeps no copy.",
            code=NOTHING_TO_REVEAL,
            status=409,
        )
    plaintext = crypto.decrypt(api_key.sealed_key)
    api_key.sealed_key = ""
    api_key.save(update_fields=["sealed_key"])
    audit_record(actor=actor, action="apikey.reveal", obj=api_key)
    return plaintext


@transaction.atomic
def apikey_set_auto_rotate(*, actor: Principal, api_key: APIKey, enabled: bool) -> APIKey:
    """Turn automatic rotation on or off; only the owner, since it mints keys for them."""
    _require_owner(actor, api_key, "You cannot change this key.")
    api_key = APIKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.auto_rotate != bool(enabled):
        audit_record(
            actor=actor,
            action="apikey.update",
            obj=api_key,
            changes={"auto_rotate": [api_key.auto_rotate, bool(enabled)]},
        )
        api_key.auto_rotate = bool(enabled)
        api_key.save(update_fields=["auto_rotate"])
    return api_key


@transaction.atomic
def apikey_revoke(*, actor: Principal, api_key: APIKey) -> APIKey:
    """Revoke at once: the next request with the key is refused."""
    # Not refused for a suspension (see APIKeyPolicy): a refusal here is the role's or the scope's.
    require(policy_for(APIKey).can(actor, "delete", api_key), "You cannot revoke this key.")
    api_key = APIKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        raise ApplicationError("This key is already revoked.", code=ALREADY_REVOKED, status=409)
    api_key.revoked_at, api_key.revoked_by = timezone.now(), actor.user
    api_key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="apikey.revoke", obj=api_key)
    access_changed_on_commit(api_key.user_id)  # the streams opened with it close
    return api_key


# --- Plans (operators) ----------------------------------------------------------------------------

PLAN_FIELDS = (
    "name",
    "description",
    "requests_per_second",
    "burst",
    "tenant_requests_per_second",
    "tenant_burst",
    "daily_quota",
    "monthly_quota",
    "is_default",
)
PLAN_NAME_TAKEN = "plan_name_taken"


def _plan_save(plan: Plan) -> None:
    """Validate, keep the name unique, and make this the only default when it is one."""
    plan.name = (plan.name or "").strip()
    validate_model(plan)
    if Plan.objects.filter(name__iexact=plan.name).exclude(pk=plan.pk).exists():
        raise ApplicationError(f"A plan named “{plan.name}” exists already.", code=PLAN_NAME_TAKEN, field="name")
    if plan.is_default:
        Plan.objects.select_for_update().filter(is_default=True).exclude(pk=plan.pk).update(is_default=False)
    plan.save()


@transaction.atomic
def plan_create(*, operator: Principal, **fields) -> Plan:
    """A new plan. Making it the default moves every tenant without a plan onto it."""
    require(operator.is_operator, "Only platform operators manage plans.")
    plan = Plan(**{name: value for name, value in fields.items() if name in PLAN_FIELDS})
    _plan_save(plan)
    audit_record(
        actor=operator,
        action="plan.create",
        obj=plan,
        changes={name: [None, getattr(plan, name)] for name in PLAN_FIELDS},
    )
    return plan


@transaction.atomic
def plan_update(*, operator: Principal, plan: Plan, **fields) -> Plan:
    """Change a plan; every tenant on it gets the new limits (each web process within API_PLAN_CACHE_SECONDS)."""
    require(operator.is_operator, "Only platform operators manage plans.")
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    before = {name: getattr(plan, name) for name in PLAN_FIELDS}
    if before["is_default"] and fields.get("is_default") is False:
        raise ApplicationError(
            "Make another plan the default instead; tenants without a plan need one.", code=INVALID, field="is_default"
        )
    for name, value in fields.items():
        if name in PLAN_FIELDS:
            setattr(plan, name, value)
    _plan_save(plan)
    changes = {name: [before[name], getattr(plan, name)] for name in PLAN_FIELDS if before[name] != getattr(plan, name)}
    audit_record(actor=operator, action="plan.update", obj=plan, changes=changes)
    return plan


@transaction.atomic
def tenant_plan_assign(*, operator: Principal, tenant: Tenant, plan: Plan | None) -> TenantPlan | None:
    """Put a tenant on a plan; `plan=None` returns it to the default plan."""
    require(operator.is_operator, "Only platform operators assign plans.")
    current = TenantPlan.objects.select_for_update(of=("self",)).select_related("plan").filter(tenant=tenant).first()
    before = current.plan.name if current else None
    if plan is None:
        if current is not None:
            current.delete()
        audit_record(actor=operator, action="plan.assign", obj=tenant, changes={"plan": [before, None]})
        return None
    if current is None:
        current = TenantPlan(tenant=tenant)
    current.plan, current.assigned_by = plan, operator.user
    current.save()
    audit_record(
        actor=operator, action="plan.assign", obj=current, tenant=tenant, changes={"plan": [before, plan.name]}
    )
    return current
