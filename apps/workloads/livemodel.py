"""The live model's answer to pages of lower apps (apps/core/livemodel.py): what serves each application
in each environment, as the watcher that leads now last read it."""

from __future__ import annotations

from apps.core.leases import led_since
from apps.deployments.serving import Serving

from .models import Sync, Workload
from .watcher import LEASE


def serving_from_watches(pairs: list) -> dict[tuple[int, int], Serving]:
    since = led_since(LEASE)
    if since is None or not pairs:
        return {}
    rows = Workload.objects.filter(
        application__in={application.pk for application, _ in pairs},
        environment__in={environment.pk for _, environment in pairs},
        observed_at__gte=since,  # read by this leader, not left over from before it led
    ).select_related("release", "application")
    # Only what the answer says: a workload's pods, drift and replica history are JSON a page never shows here.
    rows = rows.only(
        "application__component_kind",
        "environment",
        "release__number",
        "colour",
        "ready_replicas",
        "replicas",
        "read_error",
        "sync",
        "image",
        "release__image",
    )
    answers = {}
    for row in rows:
        if row.read_error:
            serving = Serving(error=f"The cluster could not be read: {row.read_error}")
        else:
            serving = Serving(
                release=row.release.number if row.release else None,
                colour=row.colour,
                ready=row.ready_replicas,
                replicas=None if row.application.component_kind == "cron" else (row.replicas or 0),
                drift=_drift(row),
            )
        answers[row.application_id, row.environment_id] = serving
    return answers


def _drift(row: Workload) -> str:
    if row.sync != Sync.OUT_OF_SYNC or row.release is None:
        return ""
    if row.image and row.image != row.release.image:
        return f"the cluster runs {row.image}, not the release's {row.release.image}"
    return "the cluster differs from the release (the workload's page shows where)"
