"""The one protocol every add-on provider speaks, in the Open Service Broker's verbs.

A provider gets the rows (instance, binding) and talks to its server; it never writes rows. The
services record what it did. A provider undoes its own half-made work before raising, so a failure
leaves nothing behind at the server (no database without a row, no role without a binding).

Every step is safe to run again: a worker that dies between two steps leaves the row where it was, and
the task that runs again (Celery redelivers it, or the sweeper nudges it) finishes the work instead of
tripping over what the first run made. Names come from the rows (the instance's uid, the binding's
credential name chosen and saved before the provider is called), so a second run finds the first
run's objects, and removal finds everything an interrupted run left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class ProviderError(Exception):
    """The provider could not do it; the message says why in words fit for the instance page (never a
    password)."""


@dataclass(frozen=True)
class Operation:
    """The state of the last asynchronous operation on an instance: in progress, succeeded or failed."""

    state: str  # "in progress" | "succeeded" | "failed" (the Open Service Broker's words)
    description: str = ""


SUCCEEDED = Operation("succeeded")


@dataclass(frozen=True)
class Step:
    """One step of a provider's operation, safe to run again; tests run a prefix of them to stand for a
    worker that died there."""

    name: str
    run: Callable[[], None]


IN_PROGRESS = Operation("in progress")


class Provider(Protocol):
    def check(self) -> str:
        """Reach the server as its admin and say which server answered; raises ProviderError."""
        ...

    def provision(self, instance: Any) -> str:
        """Create the instance's resources; return the name the provider knows it by. Idempotent."""
        ...

    def deprovision(self, instance: Any) -> Operation:
        """Remove the instance's resources and data (and any credential an interrupted bind left).
        Idempotent. Returns succeeded, or in progress when the provider works on it asynchronously
        (then `last_operation` says when it is gone)."""
        ...

    def credential_name(self, binding: Any) -> str:
        """A new name for one of the binding's credentials, saved on the row before `bind` runs so an
        interrupted bind can be found and revoked."""
        ...

    def bind(self, binding: Any) -> dict[str, str] | None:
        """Create the credential named `binding.username`; return the connection details (`url` first,
        then whatever the provider adds), or None when the provider works on it asynchronously (then
        `binding_last_operation` and, once it succeeded, `binding_details`)."""
        ...

    def unbind(self, binding: Any) -> Operation:
        """Revoke the credential named `binding.username`: nothing it held may connect afterwards.
        Idempotent. Returns succeeded, or in progress (then `binding_last_operation` says when)."""
        ...

    def last_operation(self, instance: Any) -> Operation:
        """Where the instance's last asynchronous operation stands (synchronous providers: done)."""
        ...

    def binding_last_operation(self, binding: Any) -> Operation:
        """Where the binding's last asynchronous bind or unbind stands. A synchronous provider never
        leaves one running, so a bind it is asked about was interrupted: failed."""
        ...

    def binding_details(self, binding: Any) -> dict[str, str]:
        """The connection details of a binding made asynchronously."""
        ...


def short_uid(instance: Any) -> str:
    """A name fragment of the instance, unique platform-wide and safe as an identifier."""
    return instance.uid.hex[:16]
