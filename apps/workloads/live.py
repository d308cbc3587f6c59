"""Reads a person asks for on demand, straight from the cluster: a workload's events and its logs.
Neither is stored: the cluster keeps them, and a page that showed a copy would go stale."""

from __future__ import annotations

from apps.catalog.models import Application
from apps.clusters.connection import kube_for
from apps.clusters.kube import KubeError, LogFollow
from apps.clusters.models import Cluster
from apps.clusters.services import kube_of
from apps.core.errors import ApplicationError
from apps.deployments.choices import EventKind
from apps.deployments.manifests import LABEL
from apps.deployments.models import DeploymentEvent
from apps.deployments.pods import CLUSTER_UNREADABLE, READ_OPTIONS

from .models import Workload

PORTAL_EVENTS = 100


def _unreadable(workload: Workload, exc: KubeError) -> ApplicationError:
    return ApplicationError(
        f"The cluster of {workload.environment.name} could not be read: {exc.message}",
        code=CLUSTER_UNREADABLE,
        status=503,
    )


def _owned_by(application: str, others: list[str]):
    """Whether an object name is the application's: objects are named after their application (app,
    app-env, app-blue, app-canary, and below a Deployment its ReplicaSets and pods), so `web-api-…`
    belongs to `web` only when no application named `web-api` (an `others` name) claims it."""

    def owned(name: str) -> bool:
        if name != application and not name.startswith(f"{application}-"):
            return False
        return not any(name == other or name.startswith(f"{other}-") for other in others)

    return owned


def workload_events(workload: Workload) -> list[dict]:
    """The cluster's events about the workload's objects and the portal's own lines about it (state
    changes and operations of its deployments, its incidents opening, acknowledged and resolving),
    newest first."""
    try:
        with kube_of(workload.environment, **READ_OPTIONS) as kube:
            items, _ = kube.list("v1", "Event", workload.environment.namespace)
    except KubeError as exc:
        raise _unreadable(workload, exc) from exc
    name = workload.application.name
    longer = Application.objects.filter(tenant=workload.tenant_id, name__startswith=f"{name}-")
    ours = _owned_by(name, list(longer.values_list("name", flat=True)))
    rows = [
        {
            "at": item.get("lastTimestamp") or item.get("eventTime") or item["metadata"].get("creationTimestamp"),
            "source": "cluster",
            "object": f"{item['involvedObject'].get('kind')}/{item['involvedObject'].get('name')}",
            "reason": item.get("reason") or "",
            "message": item.get("message") or "",
            "count": item.get("count") or 1,
        }
        for item in items
        if ours((item.get("involvedObject") or {}).get("name") or "")
    ]
    portal = (
        DeploymentEvent.objects.filter(
            deployment__application=workload.application,
            deployment__environment=workload.environment,
            kind__in=[EventKind.STATE, EventKind.LOG],
        )
        .select_related("deployment")
        .order_by("-created_at")[:PORTAL_EVENTS]
    )
    rows += [
        {
            "at": event.created_at.isoformat(),
            "source": "portal",
            "object": f"Deployment #{event.deployment_id}",
            "reason": event.state or "note",
            "message": event.message,
            "count": 1,
        }
        for event in portal
    ]
    rows += _incident_rows(workload)
    return sorted(rows, key=lambda row: row["at"] or "", reverse=True)


def _incident_rows(workload: Workload) -> list[dict]:
    """Each of the workload's latest incidents as it opened, was acknowledged and resolved."""
    rows = []
    incidents = workload.incidents.select_related("acknowledged_by", "resolved_by").order_by("-last_seen")
    for incident in incidents[:PORTAL_EVENTS]:
        about = f"Incident #{incident.pk}"
        times = f" (×{incident.count})" if incident.count > 1 else ""
        said = [(incident.first_seen, "opened", f"{incident.get_cause_display()}{times}: {incident.message}")]
        if incident.acknowledged_at:
            said.append((incident.acknowledged_at, "acknowledged", f"by {_who(incident.acknowledged_by)}"))
        if incident.resolved_at:
            how = f"by {_who(incident.resolved_by)}" if incident.resolved_by_id else "by itself: the cause went away"
            said.append((incident.resolved_at, "resolved", how))
        rows += [
            {"at": at.isoformat(), "source": "portal", "object": about, "reason": reason, "message": text, "count": 1}
            for at, reason, text in said
        ]
    return rows


def _who(user) -> str:
    return user.email if user is not None else "someone no longer here"


# What one answer of logs holds at most: each pod's newest lines up to its share, so a viewer asking for
# 10,000 long lines of every pod holds no more than this in the web process.
LOG_BYTES = 4 * 1024 * 1024
LOG_BYTES_PER_POD_MIN = 64 * 1024


def workload_logs(
    workload: Workload, *, pod: str = "", container: str | None = None, tail: int = 200, since: int | None = None
) -> tuple[str, bool]:
    """Log lines of one pod of the workload, or of every pod with each line prefixed by its pod; and
    whether older lines were left out to keep the answer within LOG_BYTES."""
    namespace = workload.environment.namespace
    try:
        with kube_of(workload.environment, **READ_OPTIONS) as kube:
            pods, _ = kube.list(
                "v1", "Pod", namespace, label_selector=f"{LABEL}/application={workload.application.name}"
            )
            names = sorted(p["metadata"]["name"] for p in pods)
            if pod and pod not in names:
                raise ApplicationError(
                    f"No pod {pod} runs {workload.application.name} in {workload.environment.name}.",
                    code="not_found",
                    status=404,
                )
            if pod:
                return kube.newest_logs(namespace, pod, limit=LOG_BYTES, container=container, tail=tail, since=since)
            share = max(LOG_BYTES_PER_POD_MIN, LOG_BYTES // max(1, len(names)))
            options = {"limit": share, "container": container, "tail": tail, "since": since, "timestamps": True}
            texts = {name: kube.newest_logs(namespace, name, **options) for name in names}
    except KubeError as exc:
        if exc.status == 400:
            raise ApplicationError(exc.message, code="invalid", status=400) from exc
        raise _unreadable(workload, exc) from exc
    # Every pod's lines in the order they were written (the times the cluster wrote them by), as the
    # page's live pane shows them; each pod's own order is kept where two share a time.
    lines = [
        (line.partition(" ")[0], name, line.partition(" ")[2])
        for name, (text, _) in texts.items()
        for line in text.splitlines()
    ]
    text = "".join(f"[{name}] {text}\n" for _, name, text in sorted(lines, key=lambda line: _sortable(line[0])))
    return text, any(cut for _, cut in texts.values())


def _sortable(stamp: str) -> str:
    """An RFC 3339 time with its fraction padded to nine digits, so times sort as text (the kubelet
    trims trailing zeros: 08:00:00.1Z is after 08:00:00.09Z)."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return f"{whole}.{fraction:0<9}"


def workload_pod_names(cluster: Cluster, workload: Workload) -> list[str]:
    """The names of the workload's pods on its cluster, read now (what a log stream starts following).
    Takes the cluster so that it runs in any thread without touching the database."""
    try:
        with kube_for(cluster, **READ_OPTIONS) as kube:
            pods, _ = kube.list(
                "v1",
                "Pod",
                workload.environment.namespace,
                label_selector=f"{LABEL}/application={workload.application.name}",
            )
    except KubeError as exc:
        raise _unreadable(workload, exc) from exc
    return sorted(pod["metadata"]["name"] for pod in pods)


def workload_log_follow(cluster: Cluster, workload: Workload, pod: str, *, tail: int) -> LogFollow:
    """One pod's log on the workload's cluster (`cluster_of(workload.environment)`, read once by the
    caller) as it is written, its last `tail` lines first. Iterate it in a thread of its own, close it
    when nobody reads any more, and close its client (`.kube`) once the iteration ended."""
    return kube_for(cluster, **READ_OPTIONS).follow_logs(workload.environment.namespace, pod, tail=tail)
