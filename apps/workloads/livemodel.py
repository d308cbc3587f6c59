"""The live model's answer to pages of lower apps (apps/core/livemodel.py): what serves each application
in each environment, as the watcher that leads now last read it."""

from __future__ import annotations

from apps.core.leases import led_since
from apps.deployments.serving import Serving

from .models import Workload
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
            )
        answers[row.application_id, row.environment_id] = serving
    return answers
