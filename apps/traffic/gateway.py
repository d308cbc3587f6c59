"""The gateway's check of consumer keys: `GET /api/v1/gateway/verify/?route=<id>`.

The traffic controller asks before it forwards a request to a route with `auth=api_key` (ingress-nginx's
`auth-url`). The answer has to be cheap, so what it needs is kept warm in Redis, shared by every portal
process: key digest -> (key, tenant, plan, state) and route -> (tenant, auth). A miss reads the database
once and fills the entry; a well-formed key that matches nothing is remembered as unknown for a minute.

Entries are written, never merely dropped, when the truth changes (a key revoked, a plan changed, a
route saved or deleted), after commit. Fills use SET NX, so a fill that read the database before a
revocation committed can never overwrite the revoked entry. Without Redis the check reads the database
every time and the consumer's limits are not counted (fail open, like the portal's own API limits).
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import JsonResponse

from apps.apikeys import keys, ratelimit
from apps.core.numbers import as_id, digits

from .models import ConsumerKey, Route, UsagePlan

KEY_HEADER = "X-Api-Key"
REASON_HEADER = "X-Portal-Reason"
CONSUMER_HEADERS = ("X-Consumer-Id", "X-Consumer-Name", "X-Consumer-Plan")
DEFAULT_PLAN = "default"
OVER_LIMIT_STATUSES = (403, 429)

# Reasons, sent as X-Portal-Reason and as the body's `code`.
NO_KEY = "no_key"
INVALID_KEY = "invalid_key"
PORTAL_KEY = "portal_key"
KEY_REVOKED = "key_revoked"
KEY_EXPIRED = "key_expired"
ROUTE_NOT_PROTECTED = "route_not_protected"
OTHER_TENANT = "key_of_another_tenant"
RATE_LIMITED = ratelimit.DENIED_BY_RATE
QUOTA_EXCEEDED = ratelimit.DENIED_BY_QUOTA

UNKNOWN = {"s": "unknown"}
UNKNOWN_KEY_SECONDS = 60


@dataclass
class Verdict:
    """What the gateway is told: a status, the headers it passes on, and a reason in words."""

    status: int
    code: str = ""
    detail: str = ""
    headers: dict[str, str] = field(default_factory=dict)


# --- Key material from the request ----------------------------------------------------------------


def presented_key(headers) -> str | None:
    """The consumer key of a request: `X-Api-Key: ck_…`, else `Authorization: Bearer ck_…`."""
    key = headers.get(KEY_HEADER)
    if key:
        return key.strip()
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# --- The cache ------------------------------------------------------------------------------------


def _key_entry(digest: str) -> str:
    return ratelimit.redis_key("gateway", "key", digest)


def _route_entry(route_id: int) -> str:
    return ratelimit.redis_key("gateway", "route", route_id)


def limits_of(plan: UsagePlan | None) -> ratelimit.Limits:
    """A plan's numbers as the limiter takes them; no plan: the platform's default."""
    if plan is None:
        numbers = settings.CONSUMER_KEY_DEFAULT_LIMITS
        rps, burst = numbers["requests_per_second"], numbers["burst"]
        return ratelimit.Limits(DEFAULT_PLAN, rps, burst, rps, burst, numbers["daily_quota"], numbers["monthly_quota"])
    rps, burst = plan.requests_per_second, plan.burst
    return ratelimit.Limits(plan.name, rps, burst, rps, burst, plan.daily_quota, plan.monthly_quota)


def key_value(consumer_key: ConsumerKey) -> dict:
    """What the cache keeps of a key (never the key itself: the entry is named by its digest)."""
    limits = limits_of(consumer_key.usage_plan)
    return {
        "s": "revoked" if consumer_key.revoked_at is not None else "active",
        "id": consumer_key.pk,
        "t": consumer_key.tenant_id,
        "n": consumer_key.name,
        "e": consumer_key.expires_at.timestamp() if consumer_key.expires_at else None,
        "p": limits.name,
        "l": [limits.requests_per_second, limits.burst, limits.daily_quota, limits.monthly_quota],
    }


def _route_value(route: Route | None) -> dict:
    return UNKNOWN if route is None else {"t": route.tenant_id, "a": route.auth}


def _load_key(key: str, digest: str) -> dict:
    lookup = keys.parse(key, keys.CONSUMER)
    found = (
        ConsumerKey.objects.select_related("usage_plan").filter(lookup=lookup).first() if lookup is not None else None
    )
    if found is None or not hmac.compare_digest(found.digest, digest):
        return UNKNOWN
    return key_value(found)


def _load_route(route_id: int) -> dict:
    return _route_value(Route.objects.only("tenant_id", "auth").filter(pk=route_id).first())


def _write(entries: dict[str, dict], *, fill: bool) -> None:
    """Store entries for the cache's lifetime; `fill` only where none is (a read of the database)."""
    if not entries or not ratelimit.available():
        return
    try:
        pipe = ratelimit.client().pipeline(transaction=False)
        for name, value in entries.items():
            seconds = UNKNOWN_KEY_SECONDS if fill and value is UNKNOWN else settings.GATEWAY_CACHE_SECONDS
            pipe.set(name, json.dumps(value, separators=(",", ":")), ex=seconds, nx=fill)
        pipe.execute()
    except redis.RedisError as error:
        ratelimit.failed("gateway cache write", error)


def _write_on_commit(entries: dict[str, dict]) -> None:
    transaction.on_commit(lambda: _write(entries, fill=False))


def keys_changed(consumer_keys) -> None:
    """After commit, the cache holds these keys as they are now (revoked, on another plan's numbers)."""
    _write_on_commit({_key_entry(ck.digest): key_value(ck) for ck in consumer_keys})


@receiver(post_save, sender=Route)
def _route_saved(sender, instance: Route, raw=False, **kwargs):
    if not raw:
        _write_on_commit({_route_entry(instance.pk): _route_value(instance)})


@receiver(post_delete, sender=Route)
def _route_deleted(sender, instance: Route, **kwargs):
    _write_on_commit({_route_entry(instance.pk): UNKNOWN})


def _cached(key: str, digest: str, route_id: int) -> tuple[dict, dict]:
    """The key's and the route's entries: one round trip when warm, the database for what is missing."""
    names = [_key_entry(digest), _route_entry(route_id)]
    found: list = [None, None]
    if ratelimit.available():
        try:
            found = ratelimit.client().mget(names)
        except redis.RedisError as error:
            ratelimit.failed("gateway cache read", error)
    key_entry = json.loads(found[0]) if found[0] is not None else None
    route_entry = json.loads(found[1]) if found[1] is not None else None
    missing: dict[str, dict] = {}
    if key_entry is None:
        key_entry = missing[names[0]] = _load_key(key, digest)
    if route_entry is None:
        route_entry = missing[names[1]] = _load_route(route_id)
    _write(missing, fill=True)
    return key_entry, route_entry


# --- The check ------------------------------------------------------------------------------------


def _refuse(status: int, code: str, detail: str, **headers: str) -> Verdict:
    return Verdict(status, code, detail, {REASON_HEADER: code, **headers})


def verify(*, route: str | None, key: str | None, over_limit_status: int = 403) -> Verdict:
    """Whether a request carrying `key` may reach route `route`, and as which consumer.

    401: no key, not a consumer key (a portal `pk_` key included), unknown, revoked or expired.
    403: the route does not exist or does not ask for a key, the key is another tenant's, or (with
    `over_limit_status` 403, what ingress-nginx needs) the key's plan is used up for now."""
    if not key:
        return _refuse(401, NO_KEY, f"Send the consumer key in {KEY_HEADER} (or Authorization: Bearer).")
    if key.startswith(f"{keys.PORTAL}_"):
        return _refuse(401, PORTAL_KEY, "Portal API keys do not reach applications; send a consumer key (ck_…).")
    if keys.parse(key, keys.CONSUMER) is None:
        return _refuse(401, INVALID_KEY, "Not a consumer key.")
    route_id = as_id(route) or 0
    consumer, target = _cached(key, keys.digest(key), route_id)
    if consumer["s"] == "unknown":
        return _refuse(401, INVALID_KEY, "Not a consumer key.")
    if consumer["s"] == "revoked":
        return _refuse(401, KEY_REVOKED, "This consumer key has been revoked.")
    if consumer["e"] is not None and consumer["e"] <= time.time():
        return _refuse(401, KEY_EXPIRED, "This consumer key has expired.")
    if target.get("a") != Route.Auth.API_KEY:
        return _refuse(403, ROUTE_NOT_PROTECTED, "This route does not take consumer keys.")
    if target["t"] != consumer["t"]:
        return _refuse(403, OTHER_TENANT, "This consumer key is not valid for this route.")
    refusal = _metered(consumer, over_limit_status)
    if refusal is not None:
        return refusal
    values = (str(consumer["id"]), consumer["n"], consumer["p"])
    return Verdict(200, headers=dict(zip(CONSUMER_HEADERS, values, strict=True)))


def _metered(consumer: dict, over_limit_status: int) -> Verdict | None:
    """Count the call against the key's plan; the refusal when it is used up (None: allowed, or Redis
    could not be asked)."""
    rps, burst, daily, monthly = consumer["l"]
    limits = ratelimit.Limits(consumer["p"], rps, burst, rps, burst, daily, monthly)
    decision = ratelimit.check_consumer(consumer_key_id=consumer["id"], limits=limits)
    if decision is None or decision.allowed:
        return None
    status = over_limit_status if over_limit_status in OVER_LIMIT_STATUSES else 403
    if decision.code == QUOTA_EXCEEDED:
        detail = "This consumer key's quota is used up until the period ends (Retry-After)."
    else:
        detail = "This consumer key is sending requests too fast."
    return _refuse(status, decision.code, detail, **{"Retry-After": str(decision.retry_after)})


def answer(request) -> JsonResponse:
    """The check as an HTTP answer: the verdict's status and headers, and a small JSON body (the
    consumer, or the project's error shape). Served by the API view and, ahead of the middleware stack,
    by apps/traffic/middleware.py; plain Django, since the answer needs nothing of DRF's."""
    query = request.GET
    over_limit = query.get("over_limit_status", "")
    verdict = verify(
        route=query.get("route"),
        key=presented_key(request.headers),
        over_limit_status=int(over_limit) if digits(over_limit) and len(over_limit) == 3 else 403,
    )
    if verdict.status == 200:
        values = [verdict.headers[name] for name in CONSUMER_HEADERS]
        body = dict(zip(("consumer_id", "consumer_name", "plan"), values, strict=True))
    else:
        body = {"code": verdict.code, "detail": verdict.detail}
    if verdict.status == 401:
        verdict.headers["WWW-Authenticate"] = 'Bearer realm="consumers"'
    return JsonResponse(body, status=verdict.status, headers=verdict.headers)
