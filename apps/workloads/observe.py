"""What a workload's cluster objects say, as pure functions over the objects read: health, drift and
the pod rows. services.py reads the cluster and stores what these return.

Health follows the questions a person asks of a Deployment: is it there, is it meant to run, is
anything broken, is a rollout under way, and otherwise is every replica available. Drift is judged
against a server-side-apply dry run of the live release's manifests: only fields the portal sets can
drift, and the server's defaults are on both sides of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apps.clusters.kube import RolloutStatus
from apps.deployments.pods import pod_look

from .models import Cause, Health

# A pod in one of these states makes the workload degraded at once.
BROKEN_STATES = ("crash loop", "image pull error")
# A pod not ready for this long after it was created is trouble, not a slow start.
UNREADY_GRACE_SECONDS = 120
# Fields of metadata the portal sets; the rest (resourceVersion, managedFields ...) belong to the server.
OWN_METADATA = ("labels", "annotations")


@dataclass
class Verdict:
    health: str
    reason: str


@dataclass
class Trouble:
    """The pods in trouble, by kind, from one pass over the pods: what health and causes both judge by.
    `broken` (crash loop, image pull error or OOMKilled) keeps the pods' order."""

    broken: list[dict] = field(default_factory=list)
    crash_loop: list[dict] = field(default_factory=list)
    image_pull: list[dict] = field(default_factory=list)
    oom_killed: list[dict] = field(default_factory=list)
    unready: list[dict] = field(default_factory=list)


def trouble_of(pods: list[dict], *, now: datetime) -> Trouble:
    """Sort the pod rows into the kinds of trouble they show, in one pass."""
    trouble = Trouble()
    for pod in pods:
        state, oom = pod["state"], pod.get("last_reason") == "OOMKilled"
        if state == "crash loop":
            trouble.crash_loop.append(pod)
        elif state == "image pull error":
            trouble.image_pull.append(pod)
        elif state == "starting" and _age(pod, now) > UNREADY_GRACE_SECONDS:
            trouble.unready.append(pod)
        if oom:
            trouble.oom_killed.append(pod)
        if state in BROKEN_STATES or oom:
            trouble.broken.append(pod)
    return trouble


def health_of(
    deployment: dict | None, trouble: Trouble, *, cron: bool = False, service: dict | None = None, pods=()
) -> Verdict:
    """The workload's health from its serving Deployment (or CronJob), its Service and its pods as read."""
    if deployment is None:
        kind = "CronJob" if cron else "Deployment"
        return Verdict(Health.MISSING, f"The {kind} is not in the cluster.")
    if cron:
        if (deployment.get("spec") or {}).get("suspend"):
            return Verdict(Health.SUSPENDED, "The CronJob is suspended.")
        return Verdict(Health.HEALTHY, "The CronJob is scheduled.")
    spec = deployment.get("spec") or {}
    status = RolloutStatus.from_deployment(deployment)
    if spec.get("replicas") == 0:
        return Verdict(Health.SUSPENDED, "Scaled to 0 replicas.")
    broken = trouble.broken
    if status.failed:
        return Verdict(Health.DEGRADED, f"The rollout failed: {status.message}")
    if status.replica_failure:
        return Verdict(Health.DEGRADED, f"The cluster cannot create pods: {status.replica_failure}")
    if broken:
        pod = broken[0]
        why = pod["message"] if pod["state"] in BROKEN_STATES else "killed for running out of memory (OOMKilled)"
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        return Verdict(Health.DEGRADED, f"Pod {pod['name']} is in {pod['state']}: {why}{more}")
    if spec.get("paused"):
        return Verdict(Health.SUSPENDED, "The rollout is paused.")
    if not status.complete:
        return Verdict(Health.PROGRESSING, status.message)
    if service is not None and not routes_to_a_ready_pod(service, pods):
        name = service["metadata"]["name"]
        return Verdict(
            Health.DEGRADED, f"The Service {name} routes to none of the ready pods: its selector matches none."
        )
    return Verdict(Health.HEALTHY, f"{status.ready} of {status.desired} replicas ready.")


def routes_to_a_ready_pod(service: dict, pods: list[dict]) -> bool:
    """Whether the Service's selector picks at least one ready pod, as the cluster's endpoints would (a
    selector someone added a key to routes to nothing). A Service without a selector is not judged."""
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return True
    return any(
        all(((pod["metadata"].get("labels") or {}).get(key) == value) for key, value in selector.items())
        and pod_look(pod)["state"] == "ready"
        for pod in pods
    )


def pod_row(pod: dict) -> dict:
    """One pod as the workload shows it: the deployment page's look plus phase, node, release and the
    last termination's reason (OOMKilled, Error), which explains restarts."""
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    last = [((c.get("lastState") or {}).get("terminated") or {}) for c in containers]
    return {
        **pod_look(pod),
        "phase": status.get("phase") or "Pending",
        "ready": pod_look(pod)["state"] == "ready",
        "node": (pod.get("spec") or {}).get("nodeName") or "",
        "release": (pod["metadata"].get("labels") or {}).get("paas.dev/release", ""),
        "last_reason": next((t.get("reason") for t in last if t.get("reason")), ""),
    }


def drift_of(desired: dict, applied: dict, live: dict | None) -> list[dict]:
    """Where `live` differs from what applying `desired` would make of it (`applied`, the dry run's
    answer), over the fields `desired` sets. A missing object is one entry for the whole object."""
    kind, name = desired["kind"], desired["metadata"]["name"]
    if live is None:
        return [{"kind": kind, "name": name, "path": "", "desired": "present", "live": "missing"}]
    return [
        {"kind": kind, "name": name, "path": path, "desired": want, "live": have}
        for keys in _paths(desired)
        for path, want, have in _differences(_at(applied, keys), _at(live, keys), _spelled(keys))
    ]


def _differences(want, have, path: str) -> list[tuple[str, object, object]]:
    """Where two values differ, as narrowly as their shapes allow: into objects key by key, into lists
    of the same length item by item (an item by its `name` where both have the same, as containers
    and ports do), so a changed image reads `containers[web].image`, not two whole container lists."""
    if want == have:
        return []
    if isinstance(want, dict) and isinstance(have, dict):
        return [
            difference
            for key in sorted(set(want) | set(have))
            for difference in _differences(want.get(key), have.get(key), f"{path}{_spelled((key,), nested=True)}")
        ]
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        differences = []
        for index, (one, other) in enumerate(zip(want, have, strict=True)):
            named = isinstance(one, dict) and isinstance(other, dict) and one.get("name") == other.get("name")
            label = one["name"] if named and one.get("name") else index
            differences += _differences(one, other, f"{path}[{label}]")
        return differences
    return [(path, want, have)]


def _paths(obj: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The key paths of the leaves `obj` sets; lists are leaves (compared whole, defaults included)."""
    paths = []
    for key, value in obj.items():
        if not prefix and key in ("apiVersion", "kind", "status"):
            continue
        if prefix == ("metadata",) and key not in OWN_METADATA:
            continue
        if isinstance(value, dict) and value:
            paths.extend(_paths(value, (*prefix, key)))
        else:
            paths.append((*prefix, key))
    return paths


def _at(obj, keys: tuple[str, ...]):
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _spelled(keys: tuple[str, ...], *, nested: bool = False) -> str:
    """spec.template.metadata.labels["paas.dev/release"]: keys holding dots or slashes in brackets;
    `nested`: to be written after a path already begun."""
    spelled = "".join(f'["{key}"]' if "." in key or "/" in key else f".{key}" for key in keys)
    return spelled if nested else spelled.lstrip(".")


def causes_of(deployment: dict | None, trouble: Trouble, autoscaler: dict | None) -> dict[str, str]:
    """What is wrong with the workload now, by cause, in words: what incidents open and resolve on."""
    found: dict[str, str] = {}
    if hit := trouble.crash_loop:
        found[Cause.CRASH_LOOP] = f"Containers keep crashing: pod {hit[0]['name']} ({hit[0]['message']})" + _more(hit)
    if hit := trouble.image_pull:
        found[Cause.IMAGE_PULL] = f"The image cannot be pulled: pod {hit[0]['name']} ({hit[0]['message']})" + _more(hit)
    if hit := trouble.oom_killed:
        found[Cause.OOM_KILLED] = f"Pod {hit[0]['name']} was killed for running out of memory" + _more(hit)
    if hit := trouble.unready:
        found[Cause.UNREADY] = (
            f"Pod {hit[0]['name']} is not ready {UNREADY_GRACE_SECONDS // 60} minutes after it started" + _more(hit)
        )
    if deployment is not None and (refused := RolloutStatus.from_deployment(deployment).replica_failure):
        found[Cause.QUOTA] = f"The cluster cannot create pods: {refused}"
    if autoscaler and autoscaler.get("max") and (autoscaler.get("current") or 0) >= autoscaler["max"]:
        found[Cause.AUTOSCALER_AT_MAX] = f"The autoscaler runs the maximum of {autoscaler['max']} replicas"
    return found


def _more(pods: list[dict]) -> str:
    return f" and {len(pods) - 1} more" if len(pods) > 1 else ""


def _age(pod: dict, now: datetime) -> float:
    created = pod.get("created_at")
    if not created:
        return 0.0
    return (now - datetime.fromisoformat(str(created).replace("Z", "+00:00"))).total_seconds()
