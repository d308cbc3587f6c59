"""What a look at the cluster records: pods and the rollout, each observation keyed so it is recorded once."""

from __future__ import annotations

from ..choices import EventKind


def rollout_observations(status) -> list[dict]:
    """The rollout status as one observation per distinct message, and each distinct reason the cluster
    gives for not creating a pod (ReplicaFailure / FailedCreate)."""
    if status is None:
        return []
    data = {"desired": status.desired, "updated": status.updated, "ready": status.ready, "available": status.available}
    found = [{"key": f"rollout:{status.message}", "kind": EventKind.ROLLOUT, "message": status.message, "data": data}]
    if status.replica_failure:
        # Said as it happens: otherwise a quota refusal surfaces only as a timeout at the deadline.
        message = f"The cluster cannot create a pod: {status.replica_failure}"
        found.append(
            {
                "key": f"replica-failure:{status.replica_failure}"[:200],
                "kind": EventKind.ROLLOUT,
                "message": message,
                "data": {**data, "replica_failure": status.replica_failure},
            }
        )
    return found


def pod_observations(pods: list[dict]) -> list[dict]:
    """New pod, pod ready, restarts, image pull errors and crash loops, each keyed so it is recorded once."""
    found = []
    for pod in sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"])):
        name, status = pod["metadata"]["name"], pod.get("status") or {}
        found.append(_pod(name, "created", f"Pod {name} created"))
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        if conditions.get("Ready") == "True":
            found.append(_pod(name, "ready", f"Pod {name} is ready"))
        for container in status.get("containerStatuses") or []:
            found.extend(_container_observations(name, container))
    return found


def _container_observations(pod: str, container: dict) -> list[dict]:
    found = []
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    if reason in ("ErrImagePull", "ImagePullBackOff"):
        found.append(
            _pod(
                pod, "pull-error", f"Pod {pod} cannot pull its image: {waiting.get('message') or reason}", reason=reason
            )
        )
    if reason == "CrashLoopBackOff":
        found.append(_pod(pod, "crash-loop", f"Pod {pod} is crash-looping", reason=reason))
    restarts = container.get("restartCount") or 0
    if restarts:
        found.append(_pod(pod, f"restarts:{restarts}", f"Pod {pod} restarted ({restarts} so far)", restarts=restarts))
    return found


def _pod(name: str, what: str, message: str, **data) -> dict:
    return {"key": f"pod:{name}:{what}", "kind": EventKind.POD, "message": message, "data": {"pod": name, **data}}
