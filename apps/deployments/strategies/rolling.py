"""The rolling update: Kubernetes rolls the one Deployment natively; the portal watches and decides."""

from __future__ import annotations

from apps.clusters.services import kube_of

from ..choices import State, Strategy
from ..manifests import LABEL, render
from ..models import Deployment
from ..services import deployment_fail, deployment_observe, deployment_transition
from ..services.steps import colours_removed
from .base import cluster_says, past_deadline, workloads_remove
from .manifests import COLOURS, colour_name
from .observations import pod_observations, rollout_observations
from .plan import StrategyPlan


class Rolling:
    """One Deployment per application, updated in place. A cron job is applied and done."""

    name: str = Strategy.ROLLING

    def render(self, *, release, environment, plan: StrategyPlan, progress_deadline_seconds: int) -> list[dict]:
        return render(release, environment, progress_deadline_seconds=progress_deadline_seconds)

    def first_step(self, row: Deployment) -> list[dict]:
        return render(row.release, row.environment, row.pk, progress_deadline_seconds=row.progress_deadline_seconds)

    def observe(self, row: Deployment) -> bool:
        app, namespace = row.application, row.environment.namespace
        with kube_of(row.environment) as kube:
            status = None if app.component_kind == "cron" else kube.rollout_status(namespace, app.name)
            selector = f"{LABEL}/application={app.name},{LABEL}/release={row.release.number}"
            pods, _ = kube.list("v1", "Pod", namespace, label_selector=selector)
        deployment_observe(deployment=row, observations=pod_observations(pods) + rollout_observations(status))
        return True if row.paused_at else self._conclude(row, status)

    def next_step(self, row: Deployment) -> bool:
        return False  # Kubernetes moves the rollout on by itself

    def finish(self, row: Deployment, status) -> None:
        if status is not None:
            self._retire_colours(row)
        reason = (
            "Cron jobs have no rollout: succeeded once the CronJob was applied"
            if status is None
            else f"Rollout complete: {status.ready} of {status.desired} replicas ready"
        )
        deployment_transition(deployment=row, to_state=State.SUCCEEDED, reason=reason)

    def _retire_colours(self, row: Deployment) -> None:
        """An application that ran blue-green before loses its colours once the rolling Deployment is live:
        the Service now selects the rolling pods, and a kept colour could no longer be switched back to."""
        app, namespace = row.application.name, row.environment.namespace
        with kube_of(row.environment) as kube:
            found, _ = kube.list("apps/v1", "Deployment", namespace, label_selector=f"{LABEL}/application={app}")
            colours = [colour_name(row.release, c) for c in COLOURS]
            removed = workloads_remove(
                kube, namespace, [d["metadata"]["name"] for d in found if d["metadata"]["name"] in colours]
            )
        if removed:
            colours_removed(row, removed)

    def cancel(self, row: Deployment) -> None:
        """Nothing beside the serving release: a cancel re-applies the one live before (strategies/restore.py)."""

    def _conclude(self, row: Deployment, status) -> bool:
        if row.application.component_kind == "cron":
            self.finish(row, None)
            return False
        if status is None:
            deployment_fail(deployment=row, reason="The Deployment is missing from the cluster.")
        elif status.complete:
            self.finish(row, status)
        elif status.failed:  # the cluster's own deadline verdict; paused time does not count there
            deployment_fail(
                deployment=row,
                reason=(
                    f"Rollout failed: no progress within the {row.progress_deadline_seconds}-second progress "
                    f"deadline. The cluster says: {cluster_says(status)}"
                ),
            )
        elif past_deadline(row, max(filter(None, (row.started_at, row.resumed_at)), default=None)):
            # Counted from the last resume too, since paused time is not stalling.
            deployment_fail(
                deployment=row,
                reason=f"No progress within {row.progress_deadline_seconds} seconds: {cluster_says(status)}",
            )
        else:
            return True
        return False
