"""What a canary or blue-green deployment asks for, checked once at create and stored on the row."""

import re
from collections.abc import Collection
from dataclasses import dataclass

from apps.core.errors import INVALID, ApplicationError, FieldErrors

from ..choices import TERMINAL, Strategy

DEFAULT_STEPS = (10, 50, 100)
DEFAULT_KEEP_SECONDS = 600
MAX_GATE_SECONDS = 3600
MAX_KEEP_SECONDS = 7 * 24 * 3600
# A header or cookie name is an HTTP token (RFC 9110 5.6.2, RFC 6265 4.1.1): what ingress-nginx matches
# and the Gateway API's HTTPHeaderName pattern allows.
TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
MAX_HEADER_NAME = 256
MAX_HEADER_VALUE = 4096
MAX_COOKIE_NAME = 256
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StrategyPlan:
    """The strategy and its settings. Canary `steps` are traffic percentages ending at 100; a canary
    without `gate_seconds` waits for a continue after each step, with it advances once the canary
    has been healthy that long. A canary may also match requests: those carrying `match_header`
    (name and value) or the cookie `match_cookie` set to "always" reach the canary whatever the step's
    weight, and a first step of 0 sends it nothing else. Blue-green keeps the old colour for `keep_seconds`."""

    strategy: str = Strategy.ROLLING
    steps: tuple[int, ...] = ()
    gate_seconds: int | None = None
    keep_seconds: int | None = None
    match_header: dict | None = None
    match_cookie: str = ""

    def config(self) -> dict:
        if self.strategy == Strategy.CANARY:
            config: dict = {"steps": list(self.steps), "gate_seconds": self.gate_seconds}
            if self.match_header:
                config["match_header"] = dict(self.match_header)
            if self.match_cookie:
                config["match_cookie"] = self.match_cookie
            return config
        if self.strategy == Strategy.BLUE_GREEN:
            return {"keep_seconds": self.keep_seconds}
        return {}


def steps_of(deployment) -> list[int]:
    """The traffic percentages of a canary deployment's stored plan, ending at 100."""
    return planned_steps(deployment.strategy_config)


def planned_steps(config: dict) -> list[int]:
    """steps_of a deployment's strategy_config."""
    return list(config.get("steps") or [100])


def canary_rule(deployment) -> dict | None:
    """The traffic rule the row's current step applies to the canary (the row is active and a step below
    100 started): its weight, and the header and cookie that send requests to the canary whatever the
    weight. What the portal intends, from the row; what the cluster serves is read by splits.py."""
    return step_rule(deployment.strategy, deployment.state, deployment.step, deployment.strategy_config)


def step_rule(strategy: str, state: str, step: int, config: dict) -> dict | None:
    """canary_rule of a deployment's columns (a list reads them as values, not as models)."""
    if strategy != Strategy.CANARY or state in TERMINAL or step < 1:
        return None
    steps = planned_steps(config)
    weight = steps[min(step, len(steps)) - 1]
    if weight == 100:
        return None  # promoting: the stable Deployment takes the release and all traffic
    return {"weight": weight, "header": config.get("match_header"), "cookie": config.get("match_cookie") or None}


def rule_text(rule: dict | None) -> str:
    """A canary traffic rule in words (deployment-strategy.js says the same from the API)."""
    if rule is None:
        return ""
    parts = []
    if rule["header"]:
        parts.append(f"header {rule['header']['name']}: {rule['header']['value']}")
    if rule["cookie"]:
        parts.append(f"cookie {rule['cookie']}=always")
    matched = f"requests with {' or '.join(parts)}, and " if parts else ""
    return f"The canary takes {matched}{rule['weight']}% of the other requests."


def _error(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, code=INVALID, field=field)


def _steps(steps, matching: bool) -> tuple[int, ...]:
    """Rising percentages between 1 and 100; a final 100 (the promotion) is added when missing. A canary
    that matches requests may start at 0: only matched requests reach it."""
    steps = tuple(int(step) for step in (steps or DEFAULT_STEPS))
    if any(not 0 <= step <= 100 for step in steps):
        raise _error(
            "Each canary step is a percentage of traffic from 1 to 100 (0 with a header or cookie match).", "steps"
        )
    if 0 in steps and not matching:
        raise _error(
            "A step of 0 sends the canary nothing: only a canary that matches a header or cookie starts at 0.", "steps"
        )
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
    match_header: dict | None = None,
    match_cookie: str | None = None,
    release=None,
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
    matching = _matching(problems, strategy, match_header, match_cookie, release, invalid)
    plan = StrategyPlan()
    if strategy == Strategy.CANARY and "steps" not in invalid:
        with problems.check():
            plan = StrategyPlan(
                strategy,
                _steps(steps, matching),
                gate_seconds,
                match_header=match_header,
                match_cookie=match_cookie or "",
            )
    elif strategy == Strategy.BLUE_GREEN:
        plan = StrategyPlan(strategy, keep_seconds=DEFAULT_KEEP_SECONDS if keep_seconds is None else keep_seconds)
    for field in invalid:
        problems.errors.pop(field, None)
    problems.raise_any()
    return plan


def _matching(problems: FieldErrors, strategy, header, cookie, release, invalid: Collection[str]) -> bool:
    """Check the request matches of a canary into `problems`; whether it asks for any."""
    given = [field for field, value in (("match_header", header), ("match_cookie", cookie)) if value]
    if given and strategy != Strategy.CANARY:
        for field in given:
            problems.errors[field] = ["Only a canary matches requests; choose the canary strategy or leave this out."]
        return False
    if given and release is not None and not release.ingress_host:
        for field in given:
            problems.errors[field] = [
                f"Release #{release.number} has no ingress host, so no request reaches it to match."
            ]
    if header and "match_header" not in invalid:
        with problems.check():
            _header_check(header)
    if cookie and "match_cookie" not in invalid:
        with problems.check():
            _token_check(cookie, "match_cookie", "The cookie name", MAX_COOKIE_NAME)
    return bool(given)


def _token_check(name, field: str, what: str, longest: int) -> None:
    if not isinstance(name, str) or not TOKEN.fullmatch(name):
        raise _error(f"{what} must be an HTTP token: letters, digits and !#$%&'*+-.^_`|~, no spaces.", field)
    if len(name) > longest:
        raise _error(f"{what} is at most {longest} characters.", field)


def _header_check(header) -> None:
    """A header to match: {"name": an HTTP token, "value": 1 to 4096 characters without control characters}."""
    if not isinstance(header, dict) or set(header) != {"name", "value"}:
        raise _error('A header to match is {"name": ..., "value": ...}.', "match_header")
    _token_check(header["name"], "match_header", "The header name", MAX_HEADER_NAME)
    value = header["value"]
    if not isinstance(value, str) or not value or value != value.strip():
        raise _error("The header value is text without leading or trailing spaces.", "match_header")
    if CONTROL.search(value):
        raise _error("The header value may not hold control characters (tabs, line breaks, NUL ...).", "match_header")
    if len(value) > MAX_HEADER_VALUE:
        raise _error(f"The header value is at most {MAX_HEADER_VALUE} characters.", "match_header")
