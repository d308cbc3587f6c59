"""Single leaders: processes that run with several replicas for availability (beat, the lifecycle
watcher) but of which only one may act.

The leader holds a lease row (core.Lease) whose expiry it renews every few seconds from a thread of
its own; a standby takes the row over once it has expired. Expiry is judged by the database's clock,
so replicas whose clocks disagree still agree on who leads.

Why not an advisory lock: it lasts as long as the holder's connection, and a frozen process keeps its
connection open until TCP keepalive gives up, so a standby could wait many minutes behind a leader
that does nothing. A lease runs out on time whatever its holder is doing.

Every takeover increments the lease's token. The leader checks its token before each action (`fence`),
inside the transaction that writes, holding the row FOR SHARE: a leader that was frozen and wakes up
after a takeover finds another token and acts no more.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator

import structlog
from django.conf import settings
from django.db import connection

logger = structlog.get_logger(__name__)

# How often a standby asks for the lease.
STANDBY_POLL_SECONDS = 2.0


class LeaseLost(Exception):
    """This process no longer holds the lease it acted under."""


def holder_name() -> str:
    """Who asks: host and pid for the people reading the row, and a random tail, so two leaderships in
    one process (tests run several watchers) are two holders."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def try_acquire(name: str, holder: str, seconds: float) -> int | None:
    """Take or keep the lease `name` for `seconds`; its token if this holder now leads, else None."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO core_lease (name, holder, token, acquired_at, expires_at)
            VALUES (%s, %s, 1, now(), now() + make_interval(secs => %s))
            ON CONFLICT (name) DO UPDATE SET
                token = core_lease.token + (CASE WHEN core_lease.holder = EXCLUDED.holder THEN 0 ELSE 1 END),
                acquired_at = (CASE WHEN core_lease.holder = EXCLUDED.holder
                               THEN core_lease.acquired_at ELSE now() END),
                holder = EXCLUDED.holder,
                expires_at = EXCLUDED.expires_at
            WHERE core_lease.holder = EXCLUDED.holder OR core_lease.expires_at < now()
            RETURNING token
            """,
            [name, holder, seconds],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def renew(name: str, holder: str, token: int, seconds: float) -> bool:
    """Push the expiry on; False when the lease went to someone else meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_lease SET expires_at = now() + make_interval(secs => %s) "
            "WHERE name = %s AND holder = %s AND token = %s",
            [seconds, name, holder, token],
        )
        return cursor.rowcount == 1


def give_up(name: str, holder: str, token: int) -> None:
    """End the lease now, so a standby need not wait for it to run out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_lease SET expires_at = now() WHERE name = %s AND holder = %s AND token = %s",
            [name, holder, token],
        )


def led_since(name: str):
    """When the current holder of the unexpired lease `name` began leading; None while nobody leads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT acquired_at FROM core_lease WHERE name = %s AND expires_at > now()", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def check(name: str, token: int) -> None:
    """Raise LeaseLost unless `token` still holds the unexpired lease. Inside a transaction the row is
    held FOR SHARE until it ends, so no takeover can slip in between the check and the write."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT token, expires_at > now() FROM core_lease WHERE name = %s FOR SHARE",
            [name],
        )
        row = cursor.fetchone()
    if row is None or row[0] != token or not row[1]:
        raise LeaseLost(f"the lease {name!r} is no longer held with token {token}")


class Leadership:
    """One process's claim on the lease `name`: `try_lead()` without waiting, `wait_to_lead()` until it
    leads or `stop` is set. While leading, a thread renews the lease; `lost` is set when renewal fails
    or the lease has gone unrenewed for its whole length (the database unreachable, say)."""

    def __init__(self, name: str, *, stop: threading.Event | None = None, seconds: float | None = None):
        self.name = name
        self.holder = holder_name()
        self.seconds = float(seconds or settings.LEADER_LEASE_SECONDS)
        self.stop = stop or threading.Event()
        self.token: int | None = None
        self.lost = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self.token is not None and not self.lost.is_set()

    def try_lead(self) -> bool:
        if self.leading:
            return True
        try:
            token = try_acquire(self.name, self.holder, self.seconds)
        finally:
            # Standbys ask every few seconds for as long as they run; they keep no connection open.
            connection.close()
        if token is None:
            return False
        self.token = token
        self.lost.clear()
        self._renewer = threading.Thread(target=self._renew, args=(token,), name=f"lease-{self.name}", daemon=True)
        self._renewer.start()
        logger.info("leading", lease=self.name, holder=self.holder, token=token)
        return True

    def wait_to_lead(self) -> bool:
        """Block until this process leads (True) or `stop` is set (False)."""
        waited = False
        while not self.stop.is_set():
            if self.try_lead():
                return True
            if not waited:
                logger.info("standing by; another replica leads", lease=self.name)
                waited = True
            self.stop.wait(STANDBY_POLL_SECONDS)
        return False

    def fence(self) -> None:
        """Raise LeaseLost unless this process still leads (see `check`)."""
        if self.token is None or self.lost.is_set():
            raise LeaseLost(f"not leading {self.name!r}")
        try:
            check(self.name, self.token)
        except LeaseLost:
            self.step_down()
            raise

    def step_down(self) -> None:
        if not self.lost.is_set() and self.token is not None:
            logger.warning("lost the lease; standing by", lease=self.name, holder=self.holder, token=self.token)
        self.lost.set()

    def release(self) -> None:
        """Stop leading and end the lease at once (a clean shutdown)."""
        token, self.token = self.token, None
        self.lost.set()
        if token is not None:
            with contextlib.suppress(Exception):
                give_up(self.name, self.holder, token)
                connection.close()

    def _renew(self, token: int) -> None:
        renewed_at = time.monotonic()
        every = self.seconds / 3
        while not self.stop.wait(every) and not self.lost.is_set() and self.token == token:
            try:
                held = renew(self.name, self.holder, token, self.seconds)
            except Exception as error:  # the database away: keep trying until the lease has run out
                logger.warning("lease renewal failed", lease=self.name, error=str(error))
                connection.close()
                held = time.monotonic() - renewed_at < self.seconds
            else:
                renewed_at = time.monotonic() if held else renewed_at
            if not held:
                self.step_down()
        connection.close()


# The leadership the current action runs under, for services deep in a leader's call stack to check.
_current: contextvars.ContextVar[Leadership | None] = contextvars.ContextVar("leadership", default=None)


@contextlib.contextmanager
def acting_for(leadership: Leadership) -> Iterator[None]:
    """Mark what runs inside as an action of `leadership`, so `fence()` checks its token."""
    reset = _current.set(leadership)
    try:
        yield
    finally:
        _current.reset(reset)


def fence() -> None:
    """Called by services inside the transaction that writes: raises LeaseLost when the action runs
    for a leader that has lost its lease. Outside a leader (web requests, workers) it does nothing."""
    leadership = _current.get()
    if leadership is not None:
        leadership.fence()
