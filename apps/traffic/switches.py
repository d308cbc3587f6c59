"""The maintenance and degrade switches of routes, and the maintenance windows beat carries out.

Switching a route to maintenance sends it to the namespace's maintenance server (apps/traffic/maintenance.py),
which answers 503 with the route's page; degrading it sends it there for a 200 fallback page. Switching
off sends it back to the application; the server goes when no route of the namespace needs it. A window
(`starts_at`, `ends_at`) is stored on the route and switched by beat at its times, through the same
switch and audit as a person's, as the platform (actor None). In a governed environment a switch, or
scheduling a window, waits for approval like any route change (change kind `route`); the window's
approval covers both of its switches.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.audit import audit_record
from apps.core.errors import FieldErrors, require
from apps.core.policies import policy_for
from apps.tenants.principals import Principal

from . import services
from .models import Route

MAX_MESSAGE = 2000
RETRY_AFTER = (1, 86400)
WINDOW_TASK = "apps.traffic.tasks.maintenance_windows"

_MAINTENANCE_FIELDS = (
    "maintenance",
    "maintenance_message",
    "maintenance_retry_after_seconds",
    "maintenance_starts_at",
    "maintenance_ends_at",
)
_DEGRADE_FIELDS = ("degraded", "degraded_message")


def _when(value: Any, field: str) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        found = value
    else:
        found = parse_datetime(str(value))
        if found is None:
            raise services._refuse(field, "Give a date and time, for example 2026-12-24T22:00:00Z.")
    if found is not None and timezone.is_naive(found):
        found = timezone.make_aware(found, datetime.UTC)
    return found


def _check_message(message: Any) -> str:
    if not isinstance(message, str):
        raise services._refuse("message", "The message is text.")
    if len(message) > MAX_MESSAGE:
        raise services._refuse("message", f"Keep the message to {MAX_MESSAGE} characters.")
    return message.strip()


def _maintenance_wanted(
    route: Route, *, enabled: Any, message: Any, retry_after_seconds: Any, starts_at: Any, ends_at: Any
) -> dict:
    """The maintenance fields the switch asks for, all refusals at once."""
    problems = FieldErrors()
    wanted: dict = {}
    with problems.check():
        if not isinstance(enabled, bool):
            raise services._refuse("enabled", "Say whether maintenance is on: true or false.")
    with problems.check():
        wanted["maintenance_message"] = _check_message(message)
    with problems.check():
        low, high = RETRY_AFTER
        ok = retry_after_seconds is None or (
            isinstance(retry_after_seconds, int)
            and not isinstance(retry_after_seconds, bool)
            and low <= retry_after_seconds <= high
        )
        if not ok:
            raise services._refuse("retry_after_seconds", f"Retry-After is a whole number of seconds, {low}-{high}.")
        wanted["maintenance_retry_after_seconds"] = retry_after_seconds
    start = end = None
    with problems.check():
        start = _when(starts_at, "starts_at")
    with problems.check():
        end = _when(ends_at, "ends_at")
    problems.raise_any()
    now = timezone.now()
    with problems.check():
        if (start or end) and not enabled:
            raise services._refuse("starts_at" if start else "ends_at", "A window is scheduled with enabled: true.")
    with problems.check():
        if end is not None and end <= max(start or now, now):
            raise services._refuse("ends_at", "The window ends in the future, after it starts.")
    problems.raise_any()
    if not enabled:  # off now, and any window with it
        return {**wanted, "maintenance": False, "maintenance_starts_at": None, "maintenance_ends_at": None}
    later = start is not None and start > now
    return {
        **wanted,
        "maintenance": route.maintenance if later else True,
        "maintenance_starts_at": start if later else None,
        "maintenance_ends_at": end,
    }


def _serialised(fields: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime.datetime) else value for key, value in fields.items()}


def route_maintenance(
    *,
    actor: Principal,
    route: Route,
    enabled: bool,
    message: str = "",
    retry_after_seconds: int | None = None,
    starts_at: Any = None,
    ends_at: Any = None,
    justification: str = "",
    break_glass_reason: str = "",
) -> Route:
    """Switch the route to its maintenance page (503) or back to the application, now or in a window
    (`starts_at`, `ends_at`: beat switches at those times). In a governed environment the switch waits
    for approval and the route is unchanged until then (`change_request` set)."""
    require(policy_for(Route).can_change(actor, route), tenant=route.tenant)
    wanted = _maintenance_wanted(
        route,
        enabled=enabled,
        message=message,
        retry_after_seconds=retry_after_seconds,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return _switch(route, actor, "maintenance", wanted, justification, break_glass_reason)


def route_degrade(
    *,
    actor: Principal,
    route: Route,
    enabled: bool,
    message: str = "",
    justification: str = "",
    break_glass_reason: str = "",
) -> Route:
    """Serve a static fallback page (200) for the route's path while a dependency of it is down, or go
    back to the application. Governed like every route change."""
    require(policy_for(Route).can_change(actor, route), tenant=route.tenant)
    problems = FieldErrors()
    with problems.check():
        if not isinstance(enabled, bool):
            raise services._refuse("enabled", "Say whether the route is degraded: true or false.")
    with problems.check():
        message = _check_message(message)
    problems.raise_any()
    wanted = {"degraded": enabled, "degraded_message": message if enabled else ""}
    return _switch(route, actor, "degrade", wanted, justification, break_glass_reason)


def _switch(route: Route, actor: Principal, op: str, wanted: dict, justification: str, break_glass: str):
    route.change_request = None
    with transaction.atomic():
        route.change_request = services._gated(
            route, actor, op, {"fields": _serialised(wanted)}, justification, break_glass
        )
        if route.change_request is not None:
            return route
        _carry_out(route, actor, op, wanted)
    return route


def switch_carry_out(*, route: Route, actor: Principal | None, op: str, fields: dict) -> None:
    """Make an approved switch (services.route_change_carry_out)."""
    wanted = {
        key: _when(value, key) if key.endswith("_at") else value
        for key, value in fields.items()
        if key in (_MAINTENANCE_FIELDS if op == "maintenance" else _DEGRADE_FIELDS)
    }
    start = wanted.get("maintenance_starts_at")
    if op == "maintenance" and start is not None and start <= timezone.now():
        wanted["maintenance"], wanted["maintenance_starts_at"] = True, None  # approved after the window began
    with transaction.atomic():
        _carry_out(route, actor, op, wanted)


def _carry_out(route: Route, actor: Principal | None, op: str, wanted: dict) -> None:
    """Store the switch, audit it, tell webhooks, and apply the route when what it serves changed."""
    route = (
        Route.objects.select_for_update(of=("self",))
        .select_related("tenant", "environment", "application")
        .get(pk=route.pk)
    )
    before = {field: getattr(route, field) for field in wanted}
    changed = {field: value for field, value in wanted.items() if value != before[field]}
    if not changed:
        return
    serving = route.serves_fallback, route.maintenance
    for field, value in changed.items():
        setattr(route, field, value)
    moves = (route.serves_fallback, route.maintenance) != serving or (route.serves_fallback and _page_changed(changed))
    if moves and route.state != Route.State.WAITING:
        route.state = Route.State.PENDING
    route.save()
    audit_record(
        actor=actor,
        action=f"route.{op}",
        obj=route,
        tenant=route.tenant,
        changes={field: list(map(_plain, (before[field], value))) for field, value in changed.items()},
    )
    services._event(
        route,
        "route.maintenance" if op == "maintenance" else "route.degraded",
        maintenance=route.maintenance,
        degraded=route.degraded,
        maintenance_starts_at=_plain(route.maintenance_starts_at),
        maintenance_ends_at=_plain(route.maintenance_ends_at),
    )
    if moves:
        services._dispatch(services.APPLY_TASK, route.pk)


def _page_changed(changed: dict) -> bool:
    return bool({"maintenance_message", "maintenance_retry_after_seconds", "degraded_message"} & set(changed))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


# --- Windows (beat) ---------------------------------------------------------------------------


def maintenance_windows_run(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Switch on the routes whose window has begun and off those whose window has ended, as the platform.
    A window beat missed entirely (both times past) is dropped without switching anything."""
    now = now or timezone.now()
    started = ended = 0
    for route in Route.objects.filter(maintenance_ends_at__lte=now):
        with transaction.atomic():
            _carry_out(
                route,
                None,
                "maintenance",
                {"maintenance": False, "maintenance_starts_at": None, "maintenance_ends_at": None},
            )
        ended += 1
    for route in Route.objects.filter(maintenance_starts_at__lte=now):
        with transaction.atomic():
            _carry_out(route, None, "maintenance", {"maintenance": True, "maintenance_starts_at": None})
        started += 1
    return {"started": started, "ended": ended}
