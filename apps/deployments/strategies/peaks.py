"""How many pods a rollout runs at once, for each strategy: what the quota check must fit before it starts.

Pure arithmetic on the release, the strategy's settings and the release serving now. The quota check
(apps/deployments/quotas.py) runs inside the deployment services, which the strategies call, so these
live here rather than on the strategy classes: the check reads them without importing a strategy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..choices import Strategy
from ..manifests import SURGE_PERCENT
from .manifests import canary_replicas


@dataclass(frozen=True)
class Peak:
    """A rollout's most pods at once, and how it gets there, in words for a refusal ("" when it never
    runs more than the release's own pods)."""

    pods: int
    how: str = ""


def pods_of(release) -> int:
    """The most pods the release may run: its replicas, or its autoscaling maximum when larger."""
    if release.application.component_kind == "cron":
        return 1
    return max(release.replicas, release.autoscale_max or 0)


def surge_of(release) -> int:
    """The extra pods a rolling update to `release` runs at its peak, as Kubernetes rounds maxSurge: up."""
    return math.ceil(pods_of(release) * SURGE_PERCENT / 100)


def rolling_peak(release, config: dict, serving) -> Peak:
    """The surge pods run beside the old ones; a first deploy, or the same pod template again, rolls nothing."""
    pods = pods_of(release)
    if serving is None or serving.pk == release.pk or release.application.component_kind == "cron":
        return Peak(pods)
    surge = surge_of(release)
    return Peak(pods + surge, f"the rolling update runs {surge} new pod(s) beside the {pods_of(serving)} running now")


def canary_peak(release, config: dict, serving) -> Peak:
    """The canary at its largest step runs beside the stable pods, and it still runs while the promotion
    rolls the stable Deployment with its surge."""
    running = pods_of(serving) if serving else 0
    weights = [w for w in config.get("steps") or [] if w < 100]
    canary = canary_replicas(release, max(weights)) if weights else 0
    stable = max(running, pods_of(release) + (surge_of(release) if running else 0))
    if stable + canary <= pods_of(release):
        return Peak(pods_of(release))
    return Peak(
        stable + canary,
        f"the canary runs {canary} pod(s) beside the {running} serving now, and the promotion's rolling update "
        f"{stable - running} more",
    )


def blue_green_peak(release, config: dict, serving) -> Peak:
    """The new colour runs at full size beside the one serving until the switch."""
    pods, running = pods_of(release), pods_of(serving) if serving else 0
    if not running:
        return Peak(pods)
    return Peak(
        running + pods,
        f"blue-green runs the new colour at full size ({pods} pods) beside the {running} serving now",
    )


PEAKS: dict[str, Callable[..., Peak]] = {
    Strategy.ROLLING: rolling_peak,
    Strategy.CANARY: canary_peak,
    Strategy.BLUE_GREEN: blue_green_peak,
}


def peak_of(strategy: str, release, config: dict, serving) -> Peak:
    """The most pods of the application a rollout of `release` with `strategy` runs at once, the pods of
    `serving` (the release serving now, or None) included."""
    return PEAKS[strategy](release, config, serving)
