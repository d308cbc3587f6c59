"""Every write of usage plans and consumer keys: the tenant's offer to the consumers of its own APIs.

A consumer key is made like a portal API key (apps/apikeys/keys.py: the same generator, digest and
pepper, another prefix) and shown once. Every write is audited; revoking a key and changing a plan
reach the gateway's cache after commit (apps/traffic/gateway.py), so the next check sees them.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.apikeys import keys
from apps.core.audit import audit_record
from apps.core.errors import INVALID, NAME_TAKEN, ApplicationError, FieldErrors, require
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from . import gateway
from .models import ConsumerKey, UsagePlan

ALREADY_REVOKED = "already_revoked"
PLAN_IN_USE = "plan_in_use"
MAX_EXPIRY_DAYS = 3650
PLAN_FIELDS = ("name", "description", "requests_per_second", "burst", "daily_quota", "monthly_quota")
BOUNDS = {
    "requests_per_second": (1, 100_000),
    "burst": (1, 1_000_000),
    "daily_quota": (1, 10**12),
    "monthly_quota": (1, 10**13),
}
# Names travel to applications in headers (X-Consumer-Name, X-Consumer-Plan): printable ASCII only.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._@:+-]*$"
_NAME = re.compile(NAME_PATTERN)


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=INVALID, field=field)


def _check_name(value, field: str, max_length: int) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value or len(value) > max_length or not _NAME.match(value):
        raise _refuse(
            field,
            f"A name of 1 to {max_length} characters: letters, digits, spaces and . _ @ : + - "
            "(it is sent to applications in a header).",
        )
    return value


# --- Usage plans ----------------------------------------------------------------------------------


def _check_plan(plan: UsagePlan) -> None:
    problems = FieldErrors()
    with problems.check():
        plan.name = _check_name(plan.name, "name", 60)
        if plan.name.lower() == gateway.DEFAULT_PLAN:
            raise _refuse("name", f"“{gateway.DEFAULT_PLAN}” names the platform's plan for keys without one.")
    for name, (low, high) in BOUNDS.items():
        with problems.check():
            value = getattr(plan, name)
            required = name in ("requests_per_second", "burst")
            if value is None and not required:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise _refuse(name, f"{name.replace('_', ' ').capitalize()} is a whole number from {low} to {high}.")
    numbers = (plan.burst, plan.requests_per_second, plan.daily_quota, plan.monthly_quota)
    burst, rate, daily, monthly = (n if isinstance(n, int) and not isinstance(n, bool) else None for n in numbers)
    with problems.check():
        if burst is not None and rate is not None and burst < rate:
            raise _refuse("burst", "The burst is at least the rate (the requests per second).")
    with problems.check():
        if daily is not None and monthly is not None and monthly < daily:
            raise _refuse("monthly_quota", "The monthly quota cannot be smaller than the daily one.")
    with problems.check():
        if len(plan.description or "") > 200:
            raise _refuse("description", "At most 200 characters.")
    problems.raise_any()


def _save_plan(plan: UsagePlan) -> None:
    taken = UsagePlan.objects.filter(tenant=plan.tenant, name__iexact=plan.name).exclude(pk=plan.pk)
    error = ApplicationError(f"There is already a usage plan “{plan.name}”.", code=NAME_TAKEN, field="name")
    if taken.exists():
        raise error
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError:  # made meanwhile under the same name
        raise error from None


@transaction.atomic
def usage_plan_create(*, actor: Principal, tenant: Tenant, **fields) -> UsagePlan:
    """A new usage plan of the tenant's, for its consumer keys."""
    require(policy_for(UsagePlan).can_add(actor, tenant), tenant=tenant)
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Not a usage plan field.")
    plan = UsagePlan(tenant=tenant, **fields)
    _check_plan(plan)
    _save_plan(plan)
    audit_record(
        actor=actor,
        action="usageplan.create",
        obj=plan,
        tenant=tenant,
        changes={name: [None, getattr(plan, name)] for name in PLAN_FIELDS if getattr(plan, name) not in (None, "")},
    )
    return plan


@transaction.atomic
def usage_plan_update(*, actor: Principal, plan: UsagePlan, **fields) -> UsagePlan:
    """Change a plan; each of its keys is held to the new numbers from its next call."""
    require(policy_for(UsagePlan).can_change(actor, plan), tenant=plan.tenant)
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Not a usage plan field.")
    plan = UsagePlan.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=plan.pk)
    before = {name: getattr(plan, name) for name in PLAN_FIELDS}
    for name, value in fields.items():
        setattr(plan, name, value)
    _check_plan(plan)
    changes = {name: [before[name], getattr(plan, name)] for name in PLAN_FIELDS if before[name] != getattr(plan, name)}
    if not changes:
        return plan
    _save_plan(plan)
    audit_record(actor=actor, action="usageplan.update", obj=plan, tenant=plan.tenant, changes=changes)
    on_plan = list(ConsumerKey.objects.filter(usage_plan=plan))
    for consumer_key in on_plan:
        consumer_key.usage_plan = plan
    gateway.keys_changed(on_plan)
    return plan


@transaction.atomic
def usage_plan_delete(*, actor: Principal, plan: UsagePlan) -> None:
    """Remove a plan no key was ever given (revoked keys keep theirs, for the record): 409 otherwise."""
    require(policy_for(UsagePlan).can_delete(actor, plan), tenant=plan.tenant)
    plan = UsagePlan.objects.select_for_update().get(pk=plan.pk)
    if ConsumerKey.objects.filter(usage_plan=plan).exists():
        raise ApplicationError(
            f"Consumer keys are on the plan “{plan.name}”; change the plan instead.", code=PLAN_IN_USE, status=409
        )
    audit_record(
        actor=actor, action="usageplan.delete", obj=plan, tenant=plan.tenant, changes={"name": [plan.name, None]}
    )
    plan.delete()


# --- Consumer keys --------------------------------------------------------------------------------


def consumer_key_check(*, tenant: Tenant, invalid=(), **fields) -> str:
    """Refuse at once every field of a new key at fault (a page checks the `fields` it could parse, leaving
    out those `invalid` names); returns the name as the key keeps it."""
    problems, name = FieldErrors(), fields.get("name") or ""
    if "name" not in invalid:
        with problems.check():
            name = _check_name(name, "name", 100)
    with problems.check():
        usage_plan = fields.get("usage_plan")
        if usage_plan is not None and usage_plan.tenant_id != tenant.pk:
            raise _refuse("usage_plan", "No such usage plan in this organization.")
    with problems.check():
        days = fields.get("expires_in_days")
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS
        ):
            raise _refuse("expires_in_days", f"A key expires after 1 to {MAX_EXPIRY_DAYS} days, or never (no value).")
    problems.raise_any()
    return name


@transaction.atomic
def consumer_key_create(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    usage_plan: UsagePlan | None = None,
    expires_in_days: int | None = None,
) -> tuple[ConsumerKey, str]:
    """A key for one consumer of the tenant's APIs, on `usage_plan` (else the platform's default numbers).
    Returns the row and the only copy of the plaintext key."""
    require(policy_for(ConsumerKey).can_add(actor, tenant), tenant=tenant)
    name = consumer_key_check(tenant=tenant, name=name, usage_plan=usage_plan, expires_in_days=expires_in_days)
    if usage_plan is not None:
        # Held until the key is saved: a plan deleted meanwhile (usage_plan_delete locks it too) is a
        # refusal naming the field, and a plan being deleted waits, then finds the key on it.
        usage_plan = UsagePlan.objects.select_for_update().filter(pk=usage_plan.pk).first()
        if usage_plan is None:
            raise _refuse("usage_plan", "No such usage plan in this organization.")
    lookup, plaintext = keys.generate(keys.CONSUMER)
    consumer_key = ConsumerKey.objects.create(
        tenant=tenant,
        name=name,
        usage_plan=usage_plan,
        lookup=lookup,
        digest=keys.digest(plaintext),
        created_by=actor.user if actor.is_authenticated else None,
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record(
        actor=actor,
        action="consumerkey.create",
        obj=consumer_key,
        tenant=tenant,
        changes={
            "name": [None, name],
            "usage_plan": [None, usage_plan.name if usage_plan else gateway.DEFAULT_PLAN],
            "expires_at": [None, consumer_key.expires_at.isoformat() if consumer_key.expires_at else None],
        },
    )
    return consumer_key, plaintext


@transaction.atomic
def consumer_key_revoke(*, actor: Principal, consumer_key: ConsumerKey) -> ConsumerKey:
    """Revoke at once: the gateway refuses the key from the moment this commits, in every process."""
    # Not refused for a suspension (see ConsumerKeyPolicy): a refusal here is the role's or the scope's.
    require(policy_for(ConsumerKey).can_delete(actor, consumer_key))
    consumer_key = (
        ConsumerKey.objects.select_for_update(of=("self",)).select_related("usage_plan").get(pk=consumer_key.pk)
    )
    if consumer_key.revoked_at is not None:
        raise ApplicationError("This consumer key is already revoked.", code=ALREADY_REVOKED, status=409)
    consumer_key.revoked_at, consumer_key.revoked_by = timezone.now(), actor.user if actor.is_authenticated else None
    consumer_key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="consumerkey.revoke", obj=consumer_key, tenant=consumer_key.tenant)
    gateway.keys_changed([consumer_key])
    return consumer_key
