"""The pods of a deployment as the cluster has them now, read when a page or the API asks.

Pod events are history: a pod that was ready an hour ago may have been replaced by a restart, a
scale or a newer release since. What a page shows as current is therefore read live from the
cluster, never folded out of accumulated events; when the cluster cannot be read the page says so
instead of showing what it last knew.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apps.clusters.connection import kube_for
from apps.clusters.kube import KubeError
from apps.clusters.models import Placement

from .manifests import LABEL

# A page waits on this read, so it fails fast rather than retrying for seconds.
READ_OPTIONS = {"attempts": 2, "backoff": 0.1, "timeout": (2, 5)}
# The stable error code of an answer that could not read the cluster.
CLUSTER_UNREADABLE = "cluster_unreadable"
PULL_ERRORS = ("ErrImagePull", "ImagePullBackOff")


@dataclass
class LivePods:
    """What the cluster runs of a deployment's release now. `error` is set (and `pods` empty) when
    the cluster could not be read; `live` is False when none of the release's pods run any more."""

    pods: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def live(self) -> bool:
        return bool(self.pods)

    def as_dict(self) -> dict:
        return {"live": self.live, "readable": not self.error, "error": self.error, "pods": self.pods}


def live_pods(deployment) -> LivePods:
    """The pods running the deployment's release in its environment, read from the cluster now."""
    placement = Placement.objects.select_related("cluster").filter(environment=deployment.environment_id).first()
    if placement is None:
        return LivePods()  # never placed on a cluster, so nothing of it can run
    selector = f"{LABEL}/application={deployment.application.name},{LABEL}/release={deployment.release.number}"
    try:
        with kube_for(placement.cluster, **READ_OPTIONS) as kube:
            pods, _ = kube.list("v1", "Pod", deployment.environment.namespace, label_selector=selector)
    except KubeError as exc:
        return LivePods(error=f"The cluster {placement.cluster.name} could not be read: {exc.message}")
    ordered = sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))
    return LivePods(pods=[pod_look(pod) for pod in ordered])


# The kubelet's words for a crash loop: "back-off 40s restarting failed container=web pod=web-7d…_ns(uid)".
BACK_OFF = re.compile(r"back-off (?P<wait>\S+) restarting failed container=(?P<container>[^ ]+)")


def _back_off(said: str) -> str:
    """The kubelet's message without the pod's namespace and uid, which the row already names."""
    found = BACK_OFF.match(said)
    if found is None:
        return said
    return f"container {found['container']} keeps exiting; the next start is in {found['wait']}"


def pod_look(pod: dict) -> dict:
    """One pod as the page shows it: name, state (ready, starting, terminating, image pull error,
    crash loop), restarts and the cluster's own words where it has them."""
    meta, status = pod["metadata"], pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    restarts = sum(c.get("restartCount") or 0 for c in containers)
    waiting = [((c.get("state") or {}).get("waiting") or {}) for c in containers]
    reasons = {w.get("reason", ""): w.get("message") or w.get("reason", "") for w in waiting if w}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    if meta.get("deletionTimestamp"):
        state, message = "terminating", "Shutting down"
    elif reasons.keys() & set(PULL_ERRORS):
        state, message = "image pull error", next(reasons[r] for r in PULL_ERRORS if r in reasons)
    elif "CrashLoopBackOff" in reasons:
        state, message = "crash loop", _back_off(reasons["CrashLoopBackOff"])
    elif ready:
        state, message = "ready", "Ready"
    else:
        state, message = "starting", status.get("phase") or "Pending"
    return {
        "name": meta["name"],
        "state": state,
        "restarts": restarts,
        "message": message,
        "created_at": meta.get("creationTimestamp"),
    }
