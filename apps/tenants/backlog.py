"""A tenant's background work: for each kind (deployments, builds), its limit, how much runs and how
much waits its turn.

Each kind is read by the app that owns it, registered here with `register_backlog`, so the tenants app
does not import the apps above it (as with quota usage). A reader answers for the tenants it is given
in one query per kind, or, given None, for every tenant with work running or waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Backlog:
    """One kind of a tenant's work: at most `limit` run at once, `running` do, `waiting` wait their turn
    (the oldest since `waiting_since`)."""

    kind: str
    limit: int
    running: int
    waiting: int
    waiting_since: datetime | None = None


BacklogReader = Callable[[Iterable[int] | None], dict[int, Backlog]]
_READERS: dict[str, BacklogReader] = {}


def register_backlog(kind: str, reader: BacklogReader) -> None:
    _READERS[kind] = reader


def backlog_of(tenant) -> list[Backlog]:
    """Every kind of the tenant's work, idle kinds included (with their limit)."""
    return [reader([tenant.pk])[tenant.pk] for reader in _READERS.values()]


def backlogs_of_platform() -> dict[int, list[Backlog]]:
    """tenant id -> its kinds of work, for every tenant with work running or waiting (kinds without any
    for that tenant are left out); the operators' view."""
    busy: dict[int, list[Backlog]] = {}
    for reader in _READERS.values():
        for tenant_id, backlog in reader(None).items():
            busy.setdefault(tenant_id, []).append(backlog)
    return busy
