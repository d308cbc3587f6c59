"""The seam through which pages of apps below the workloads app show what runs now from the lifecycle
watcher's live model, instead of reading the cluster once per row of a page.

The workloads app installs a source when Django starts. Given (application, environment) pairs, it
answers for the pairs whose workload the watcher that leads now has read since it began leading, and
for none while no watcher leads: a model nobody keeps current is history, not the cluster's state. The
caller reads the cluster itself for every pair without an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Pairs = Iterable[tuple[Any, Any]]

_source: Callable[[list], dict] | None = None


def install(source: Callable[[list], dict]) -> None:
    global _source
    _source = source


def watched(pairs: Pairs) -> dict:
    """(application id, environment id) -> what the live model says serves there, for the pairs it knows."""
    return _source(list(pairs)) if _source else {}
