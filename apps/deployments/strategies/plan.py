"""What a canary or blue-green deployment asks for, checked once at create and stored on the row."""

from collections.abc import Collection
from dataclasses import dataclass

from apps.core.errors import INVALID, ApplicationError, FieldErrors

from ..choices import Strategy

DEFAULT_STEPS = (10, 50, 100)
DEFAULT_KEEP_SECONDS = 600
MAX_GATE_SECONDS = 3600
MAX_KEEP_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class StrategyPlan:
    """The strategy and its settings. Canary `steps` are traffic percentages ending at 100; a canary
    without `gate_seconds` waits for a continue after each step, with it advances once the canary
    has been healthy that long. Blue-green keeps the old colour for `keep_seconds`."""

    strategy: str = Strategy.ROLLING
    steps: tuple[int, ...] = ()
    gate_seconds: int | None = None
    keep_seconds: int | None = None

    def config(self) -> dict:
        if self.strategy == Strategy.CANARY:
            return {"steps": list(self.steps), "gate_seconds": self.gate_seconds}
        if self.strategy == Strategy.BLUE_GREEN:
            return {"keep_seconds": self.keep_seconds}
        return {}


def steps_of(deployment) -> list[int]:
    """The traffic percentages of a canary deployment's stored plan, ending at 100."""
    return list(deployment.strategy_config.get("steps") or [100])


def _error(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, code=INVALID, field=field)


def _steps(steps) -> tuple[int, ...]:
    """Rising percentages between 1 and 100; a final 100 (the promotion) is added when missing."""
    steps = tuple(int(step) for step in (steps or DEFAULT_STEPS))
    if any(not 1 <= step <= 100 for step in steps):
        raise _error("Each canary step is a percentage of traffic from 1 to 100.", "steps")
    if any(later <= earlier for earlier, later in zip(steps, steps[1:], strict=False)):
        raise _error("Canary steps must rise, e.g. 10, 50, 100.", "steps")
    return steps if steps[-1] == 100 else (*steps, 100)


def strategy_plan(
    *,
    strategy: str,
    application,
    steps=None,
    gate_seconds: int | None = None,
    keep_seconds: int | None = None,
    invalid: Collection[str] = (),
) -> StrategyPlan:
    """The checked plan, or one ApplicationError naming every field at fault.

    `application` may be None when the request named none that exists (its own error says so): the
    checks that need it are skipped. Fields in `invalid` already failed to parse (their own errors say
    why) and are not checked again; the plan is then only checked, never used."""
    problems = FieldErrors()
    with problems.check():
        if strategy not in Strategy.values:
            raise _error(f"Choose one of: {', '.join(Strategy.values)}.", "strategy")
        if strategy != Strategy.ROLLING and application is not None and application.component_kind == "cron":
            raise _error("A cron job deploys with the rolling strategy only.", "strategy")
    if gate_seconds is not None and not 0 <= gate_seconds <= MAX_GATE_SECONDS:
        problems.errors["gate_seconds"] = [f"The health gate is 0 to {MAX_GATE_SECONDS} seconds."]
    if keep_seconds is not None and not 0 <= keep_seconds <= MAX_KEEP_SECONDS:
        problems.errors["keep_seconds"] = [f"The old colour is kept 0 to {MAX_KEEP_SECONDS} seconds."]
    plan = StrategyPlan()
    if strategy == Strategy.CANARY and "steps" not in invalid:
        with problems.check():
            plan = StrategyPlan(strategy, _steps(steps), gate_seconds)
    elif strategy == Strategy.BLUE_GREEN:
        plan = StrategyPlan(strategy, keep_seconds=DEFAULT_KEEP_SECONDS if keep_seconds is None else keep_seconds)
    for field in invalid:
        problems.errors.pop(field, None)
    problems.raise_any()
    return plan
