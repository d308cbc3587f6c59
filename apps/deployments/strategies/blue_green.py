"""Blue-green: the release rolls out to the colour not serving; once it is ready the Service switches
to it, and the old colour is kept for a while so traffic can switch back."""

from __future__ import annotations

from apps.clusters.services import kube_of

from ..choices import EventKind, Strategy
from ..manifests import LABEL
from ..models import Deployment
from ..selectors import live_colour, previous_colour_deployment, serving_colour
from ..services import deployment_fail, deployment_observe, outage_end
from ..services.steps import colour_choose, colour_went_live, step_record
from .base import cluster_says, past_deadline, workloads_remove
from .manifests import COLOUR, COLOURS, TRAFFIC_KINDS, colour_name, other_colour, render_colour
from .observations import pod_observations, rollout_observations
from .plan import StrategyPlan

COLOUR_REMOVED = "colour:removed"


class BlueGreen:
    """Two colours of one application; the Service selects the one serving."""

    name: str = Strategy.BLUE_GREEN

    def render(self, *, release, environment, plan: StrategyPlan, progress_deadline_seconds: int) -> list[dict]:
        live = serving_colour(release.application_id, environment.pk)
        return render_colour(
            release,
            environment,
            colour=other_colour(live) if live else COLOURS[0],
            progress_deadline_seconds=progress_deadline_seconds,
        )

    def first_step(self, row: Deployment) -> list[dict]:
        """The new colour without the traffic objects: they switch only once it is ready."""
        colour = colour_choose(row)
        return [
            m
            for m in render_colour(
                row.release,
                row.environment,
                row.pk,
                colour=colour,
                progress_deadline_seconds=row.progress_deadline_seconds,
            )
            if m["kind"] not in TRAFFIC_KINDS
        ]

    def observe(self, row: Deployment) -> bool:
        """Observe the new colour; once it is ready, switch the Service to it and succeed."""
        namespace, colour = row.environment.namespace, row.colour
        with kube_of(row.environment) as kube:
            status = kube.rollout_status(namespace, colour_name(row.release, colour))
            pods, _ = kube.list(
                "v1",
                "Pod",
                namespace,
                label_selector=(
                    f"{LABEL}/application={row.application.name},{COLOUR}={colour},{LABEL}/release={row.release.number}"
                ),
            )
        deployment_observe(deployment=row, observations=pod_observations(pods) + rollout_observations(status))
        if status is not None and status.complete:
            self.finish(row, status)
            return False
        if status is None:
            deployment_fail(
                deployment=row, reason=f"The Deployment {colour_name(row.release, colour)} is missing from the cluster."
            )
        elif status.failed or past_deadline(row, row.started_at):
            deployment_fail(
                deployment=row,
                reason=(
                    f"{colour.capitalize()} did not become ready within {row.progress_deadline_seconds} seconds; "
                    f"traffic stays where it was. The cluster says: {cluster_says(status)}"
                ),
            )
        else:
            return True
        return False

    def next_step(self, row: Deployment) -> bool:
        return False  # one step: the switch, made as soon as the colour is ready

    def finish(self, row: Deployment, status) -> None:
        """Switch the Service to the new colour; an application that ran rolling before loses its rolling
        Deployment once the colour serves (it would otherwise keep running, and counting, unseen)."""
        with kube_of(row.environment) as kube:
            kube.apply(traffic_manifests(row, row, row.colour))
            removed = workloads_remove(kube, row.environment.namespace, [row.application.name])
        if removed:
            deployment_observe(
                deployment=row,
                observations=[
                    {
                        "key": "rolling:removed",
                        "kind": EventKind.LOG,
                        "message": f"{row.colour.capitalize()} serves all traffic; the rolling update's objects "
                        f"were removed: {', '.join(removed)}",
                        "data": {"removed": removed},
                    }
                ],
            )
        colour_went_live(row, previous=live_colour(row))

    def cancel(self, row: Deployment) -> None:
        """Traffic never left the old colour: remove the new one (gone objects are fine), and record it once."""
        if not row.colour or row.events.filter(key=COLOUR_REMOVED).exists():
            return
        name = colour_name(row.release, row.colour)
        with kube_of(row.environment) as kube:
            workloads_remove(kube, row.environment.namespace, [name])
        step_record(
            row, key=COLOUR_REMOVED, message=f"{row.colour.capitalize()} ({name}) removed; traffic stays where it was"
        )

    def switch_back(self, row: Deployment) -> None:
        """Point the Service back at the old colour, with the old release's own traffic objects; once."""
        if not row.switched_back_at or row.events.filter(key="switch-back:done").exists():
            return
        source = previous_colour_deployment(row)
        if source is None:  # nothing to go back to; deployment_switch_back refuses this before it gets here
            return
        old = other_colour(row.colour)
        with kube_of(row.environment) as kube:
            kube.apply(traffic_manifests(row, source, old))
        outage_end(row)  # when the switch waited for the cluster, it answers again
        step_record(
            row, key="switch-back:done", message=f"Service switched back to {old} (release #{source.release.number})"
        )

    def retire(self, row: Deployment) -> None:
        """Scale the colour no longer serving to zero and close the switch-back window, once."""
        if row.switch_back_until is None:
            return
        idle = row if row.switched_back_at else previous_colour_deployment(row)
        colour = row.colour if row.switched_back_at else other_colour(row.colour)
        if idle is not None:
            manifests = [
                m
                for m in render_colour(
                    idle.release,
                    row.environment,
                    idle.pk,
                    colour=colour,
                    idle=True,
                    progress_deadline_seconds=idle.progress_deadline_seconds,
                )
                if m["kind"] == "Deployment"
            ]
            with kube_of(row.environment) as kube:
                kube.apply(manifests)
        step_record(
            row,
            key="colour:retired",
            switch_back_until=None,
            message=f"{colour.capitalize()} scaled to zero; switching back is no longer possible"
            if idle
            else "The switch-back window closed",
        )


def traffic_manifests(row: Deployment, source: Deployment, colour: str) -> list[dict]:
    """The Service and Ingress sending traffic to `colour`, as `source` (the deployment that rolled it) renders them."""
    return [
        m
        for m in render_colour(
            source.release,
            row.environment,
            source.pk,
            colour=colour,
            progress_deadline_seconds=source.progress_deadline_seconds,
        )
        if m["kind"] in TRAFFIC_KINDS
    ]
