"""Subresources that are views of an object rather than objects: `scale` and a pod's `log`."""

from .errors import bad_request
from .matching import selector_string


def scale_of(obj: dict) -> dict:
    metadata = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in metadata
        },
        "spec": {"replicas": obj["spec"].get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string(obj["spec"].get("selector")),
        },
    }


def pod_log(pod: dict, container: str | None) -> str:
    """What `kubectl logs` shows: there are no real processes, so one line per start and crash."""
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    name = container or (names[0] if names else "")
    if name not in names:
        raise bad_request(f"container {name} is not valid for pod {pod['metadata']['name']}")
    status = next((c for c in (pod.get("status") or {}).get("containerStatuses") or () if c["name"] == name), {})
    lines = []
    for state in (status.get("lastState") or {}, status.get("state") or {}):
        if "running" in state or "terminated" in state:
            detail = state.get("running") or state["terminated"]
            lines.append(f"{detail.get('startedAt', '')} sandbox: container {name} started from {status['image']}")
        if "terminated" in state:
            lines.append(
                f"{state['terminated'].get('finishedAt', '')} sandbox: container {name} exited with code "
                f"{state['terminated'].get('exitCode')}"
            )
    return "".join(line + "\n" for line in lines)
