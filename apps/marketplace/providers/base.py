"""The one protocol every add-on provider speaks, in the Open Service Broker's verbs.

A provider gets the rows (instance, binding) and talks to its server; it never writes rows. The
services record what it did. A provider undoes its own half-made work before raising, so a failure
leaves nothing behind at the server (no database without a row, no role without a binding).
"""

from __future__ import annotations

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


class Provider(Protocol):
    def provision(self, instance: Any) -> str:
        """Create the instance's resources; return the name the provider knows it by."""
        ...

    def deprovision(self, instance: Any) -> None:
        """Remove the instance's resources and data. Idempotent."""
        ...

    def bind(self, binding: Any) -> tuple[str, dict[str, str]]:
        """Create the binding's own credential; return its user name and the connection details
        (`url` first, then whatever the provider adds)."""
        ...

    def unbind(self, binding: Any) -> None:
        """Revoke the binding's credential at the server: nothing it held may connect afterwards. Idempotent."""
        ...

    def last_operation(self, instance: Any) -> Operation:
        """Where the instance's last asynchronous operation stands (synchronous providers: done)."""
        ...


def short_uid(instance: Any) -> str:
    """A name fragment of the instance, unique platform-wide and safe as an identifier."""
    return instance.uid.hex[:16]
