"""The strategies by name: what the pipeline, the tasks and the deploy form look a row's strategy up in."""

from __future__ import annotations

from .base import Strategy
from .blue_green import BlueGreen
from .canary import Canary
from .rolling import Rolling

STRATEGIES: dict[str, Strategy] = {strategy.name: strategy for strategy in (Rolling(), Canary(), BlueGreen())}


def strategy_for(name: str) -> Strategy:
    """The strategy called `name` (a Deployment's `strategy` field)."""
    return STRATEGIES[name]
