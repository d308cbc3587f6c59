"""The seam through which a deployment learns which add-on credentials an application gets.

The deployments app renders manifests and sits below the marketplace in the import order, so it
cannot read bindings. The marketplace writes each (application, environment)'s credentials as one
Secret and installs a source here when Django starts; the render asks `secret_for` and, when there
is one, adds it to the container's `envFrom` with a checksum in the pod template, so the next
deployment after a bind or unbind rolls the pods onto the new variables. Without a source, no
application has add-ons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AddonSecret:
    """The Secret holding an application's add-on variables in one environment, and a checksum that
    changes whenever its bindings do (never derived from the credentials themselves)."""

    name: str
    checksum: str


_source: Callable[[Any, Any], AddonSecret | None] | None = None


def install(source: Callable[[Any, Any], AddonSecret | None]) -> None:
    global _source
    _source = source


def secret_for(application: Any, environment: Any) -> AddonSecret | None:
    return _source(application, environment) if _source is not None else None
