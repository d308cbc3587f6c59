"""The Strategy protocol every rollout strategy implements, and what the strategies share.

The pipeline (apps/deployments/pipeline.py) knows only this protocol: it applies `first_step`,
then calls `observe` in short tasks until it says stop; a row that ended without succeeding gets
`cancel` on the next look. Each strategy records what it does through the deployment services.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone

from ..models import DEADLINE_GRACE_SECONDS, Deployment
from .plan import StrategyPlan


class Strategy(Protocol):
    """A way to roll a release out: rolling (Kubernetes native), canary or blue-green."""

    name: str

    def render(self, *, release, environment, plan: StrategyPlan, progress_deadline_seconds: int) -> list[dict]:
        """What the first apply of a deployment with this plan would send (the deploy form's preview)."""

    def first_step(self, row: Deployment) -> list[dict]:
        """The objects the pipeline applies first, recording any choice it makes (the colour)."""

    def observe(self, row: Deployment) -> bool:
        """One look at a progressing row: record what the cluster shows, move on or finish. True: look again."""

    def next_step(self, row: Deployment) -> bool:
        """Move on to the next step; False when the strategy has no steps."""

    def finish(self, row: Deployment, status) -> None:
        """The rollout is complete: make the release the one serving and mark the deployment succeeded."""

    def cancel(self, row: Deployment) -> None:
        """The row ended without succeeding: remove what this strategy added beside the serving release."""


def past_deadline(row: Deployment, since: datetime | None) -> bool:
    """Whether the portal gives up on its own: the progress deadline plus the grace, counted from `since`
    (None: the rollout has not started, so no deadline runs yet)."""
    return since is not None and timezone.now() > since + timedelta(
        seconds=row.progress_deadline_seconds + DEADLINE_GRACE_SECONDS
    )


def cluster_says(status) -> str:
    """The rollout's state in the cluster's words, with why it cannot create pods when it says so: a
    rollout stuck on a quota fails naming the quota, not only "timed out progressing"."""
    return f"{status.message} ({status.replica_failure})" if status.replica_failure else status.message


def applied(manifests: list[dict]) -> str:
    """Kind/name of each object, for the log line of an apply."""
    return ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in manifests)


# What a rollout puts beside its Service and Ingress, by name: the objects one strategy leaves behind
# when another takes the application over (the Service and Ingress keep their names and are re-applied).
WORKLOAD_KINDS = (("autoscaling/v2", "HorizontalPodAutoscaler"), ("apps/v1", "Deployment"), ("v1", "ConfigMap"))


def workloads_remove(kube, namespace: str, names: list[str]) -> list[str]:
    """Delete the Deployment, autoscaler and ConfigMap (`<name>-env`) of each name; Kind/name of what was there."""
    removed = []
    for name in names:
        for api_version, kind in WORKLOAD_KINDS:
            if kube.delete(api_version, kind, f"{name}-env" if kind == "ConfigMap" else name, namespace):
                removed.append(f"{kind}/{name}-env" if kind == "ConfigMap" else f"{kind}/{name}")
    return removed
