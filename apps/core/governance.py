"""The seam through which a governed change waits for approval.

The apps that change things (deployments, quotas) sit below the approvals app in the import
order, so they cannot call it. They describe what they are about to do as a `Change` and ask the
installed gate: `governed` says whether an environment's changes need approval at all (the deploy
policy lets developers ask for production changes there), `assess` says whether the change needs
approval (or refuses it, during a freeze), `open` files the change request, `withdraw` closes it
when its subject goes away. The approvals app installs its gate when Django starts; without one,
nothing is governed.

Every operation that changes a governed environment asks the gate, in one of three ways:
an ordinary change waits for approval and is refused during a freeze; a change that carries on one
already approved as a whole (resuming a paused rollout, a canary's next step) is refused during a
freeze but not asked for approval again; a restorative change (cancel, pause, switch back, roll
back to the last good release) is never held, so people can stop damage, and is recorded with a
post-hoc review instead. tests/approvals/test_gated_operations.py proves each route takes its way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Change:
    """One change a member asked for, described the same way whatever feature it comes from."""

    kind: str  # "deploy", "scale", "quota", ...
    tenant: Any
    actor: Any  # who asks: a Principal (apps.tenants.principals), or None when the platform itself does
    environment: Any = None
    subject: Any = None  # the row the change acts on, e.g. the Deployment
    params: dict = field(default_factory=dict)
    title: str = ""
    justification: str = ""
    break_glass_reason: str = ""
    restorative: bool = False  # stops or undoes damage: past approval and freezes, reviewed afterwards
    carries_on: bool = False  # continues a change approved as a whole: a freeze stops it, approval is not asked again


@dataclass(frozen=True)
class Verdict:
    """What the gate decided: wait for approval, or go ahead (past approval and freeze when break-glass,
    or because the change is restorative; both are recorded and reviewed afterwards)."""

    needs_approval: bool = False
    break_glass: bool = False
    restorative: bool = False


class Gate(Protocol):
    def governed(self, environment: Any) -> bool:
        """Whether changes to the environment go through approval (a freeze aside)."""
        ...

    def assess(self, change: Change) -> Verdict: ...

    def open(self, change: Change, verdict: Verdict) -> Any: ...

    def withdraw(self, subject: Any, reason: str) -> None: ...


class _Ungoverned:
    """The gate before the approvals app installs its own: every change goes ahead."""

    def governed(self, environment: Any) -> bool:
        return False

    def assess(self, change: Change) -> Verdict:
        return Verdict()

    def open(self, change: Change, verdict: Verdict) -> None:
        return None

    def withdraw(self, subject: Any, reason: str) -> None:
        return None


_gate: Gate = _Ungoverned()


def install(gate: Gate) -> None:
    global _gate
    _gate = gate


def gate() -> Gate:
    return _gate
