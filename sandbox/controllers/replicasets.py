"""The ReplicaSet controller: keep `spec.replicas` pods alive and report how many are ready and available.

Pods go through the registry like any other create, so LimitRange and ResourceQuota admission
apply. A refused pod leaves a FailedCreate event and a ReplicaFailure condition on the ReplicaSet
(the Deployment controller copies it up), and the ReplicaSet retries when pods in its namespace
go away, quotas change, or after a back-off that starts at `Timing.retry_after` and doubles per
refusal up to `Timing.backoff_max`, as the real controller's rate-limited work queue does. Without
it, each refusal (which names a new random pod) rewrote the status and woke the controller again.
"""

import calendar
import time

from ..admission import TERMINAL_PHASES
from ..errors import APIError
from ..kinds import PODS, QUOTAS, REPLICA_SETS
from ..registry import now
from ..store import ADDED, DELETED
from . import Controller, WorkQueue, controller_of, owner_reference

_BURST = 500


def is_active(pod: dict) -> bool:
    return "deletionTimestamp" not in pod["metadata"] and (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES


def epoch(timestamp: str) -> int:
    return calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))


def ready_since(pod: dict) -> float | None:
    """When the pod became Ready (epoch seconds), or None if it is not Ready."""
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition["type"] == "Ready":
            return epoch(condition["lastTransitionTime"]) if condition["status"] == "True" else None
    return None


def _deletion_rank(pod: dict) -> tuple:
    """Which pods go first when scaling down: unscheduled, pending, not ready, restarting, newest."""
    status = pod.get("status") or {}
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or ())
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase"), 0)
    return (
        bool(pod["spec"].get("nodeName")),
        phase_rank,
        ready_since(pod) is not None,
        -restarts,
        -epoch(pod["metadata"]["creationTimestamp"]),
    )


class ReplicaSetController(Controller):
    def __init__(self, context):
        super().__init__(context)
        self.queue = WorkQueue("replicaset", self.reconcile)
        self._refused: dict[str, set[str]] = {}
        self._held: dict[tuple, tuple[int, float]] = {}  # key -> (refusals in a row, monotonic time to retry)

    def queues(self):
        return [self.queue]

    def on_change(self, change) -> None:
        if change.rt is REPLICA_SETS:
            self.queue.add((change.namespace, change.obj["metadata"]["name"]))
        elif change.rt is PODS:
            owner = controller_of(change.obj, "ReplicaSet")
            if owner:
                self.queue.add((change.namespace, owner["name"]))
            if change.type == DELETED:
                self._retry_refused(change.namespace)
        elif change.rt is QUOTAS and change.type != ADDED:
            self._retry_refused(change.namespace)

    def _retry_refused(self, namespace: str) -> None:
        for name in self._refused.pop(namespace, ()):
            self._held.pop((namespace, name), None)
            self.queue.add((namespace, name))

    def _hold(self, key) -> None:
        """Back off after a refusal: retry_after, doubling per refusal in a row, at most backoff_max."""
        refusals = self._held.get(key, (0, 0.0))[0] + 1
        delay = min(
            self.timing.retry_after * 2 ** (refusals - 1), max(self.timing.backoff_max, self.timing.retry_after)
        )
        self._held[key] = (refusals, time.monotonic() + delay)
        self.queue.add_after(key, delay)

    def _held_back(self, key) -> bool:
        held = self._held.get(key)
        return held is not None and time.monotonic() < held[1]

    def resync(self) -> None:
        for rs in self.store.list(REPLICA_SETS):
            self.queue.add((rs["metadata"]["namespace"], rs["metadata"]["name"]))

    def reconcile(self, key) -> None:
        namespace, name = key
        rs = self.store.get(REPLICA_SETS, namespace, name)
        if rs is None or "deletionTimestamp" in rs["metadata"]:
            return
        uid = rs["metadata"]["uid"]
        pods = [
            pod
            for pod in self.store.dependents(uid, PODS)
            if is_active(pod) and (controller_of(pod, "ReplicaSet") or {}).get("uid") == uid
        ]
        wanted = rs["spec"].get("replicas", 1)
        refusal = None
        if len(pods) < wanted and not self._held_back(key):
            for _ in range(min(wanted - len(pods), _BURST)):
                try:
                    pod = self.registry.create(PODS, self._pod_for(rs), namespace=namespace)
                except APIError as error:
                    refusal = error
                    self.recorder.record(
                        rs,
                        "Warning",
                        "FailedCreate",
                        f"Error creating: {error.message}",
                        "replicaset-controller",
                        aggregate=("FailedCreate",),
                    )
                    self._refused.setdefault(namespace, set()).add(name)
                    self._hold(key)
                    break
                pods.append(pod)
                self.recorder.record(
                    rs, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", "replicaset-controller"
                )
            else:
                self._held.pop(key, None)
        elif len(pods) > wanted:
            pods.sort(key=_deletion_rank)
            for pod in pods[: len(pods) - wanted]:
                self.registry.delete(PODS, pod)
                self.recorder.record(
                    rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", "replicaset-controller"
                )
            pods = pods[len(pods) - wanted :]
        self._sync_status(rs, pods, refusal)

    def _pod_for(self, rs: dict) -> dict:
        template = rs["spec"]["template"]
        template_meta = template.get("metadata") or {}
        metadata = {
            "generateName": f"{rs['metadata']['name']}-",
            "namespace": rs["metadata"]["namespace"],
            "labels": template_meta.get("labels") or {},
            "ownerReferences": [owner_reference(rs)],
        }
        if template_meta.get("annotations"):
            metadata["annotations"] = template_meta["annotations"]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.get("spec") or {}}

    def _sync_status(self, rs: dict, pods: list, refusal: APIError | None) -> None:
        min_ready = rs["spec"].get("minReadySeconds", 0)
        clock = time.time()
        ready = available = 0
        wait = None
        for pod in pods:
            since = ready_since(pod)
            if since is None:
                continue
            ready += 1
            if clock - since >= min_ready:
                available += 1
            else:
                wait = min(wait or min_ready, since + min_ready - clock)
        if wait is not None:
            self.queue.add_after((rs["metadata"]["namespace"], rs["metadata"]["name"]), wait + 0.05)
        counts = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": available,
        }
        status = {
            **{field: value for field, value in counts.items() if value},
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status["replicas"] = len(pods)
        current = rs.get("status") or {}
        failure = next((c for c in current.get("conditions") or () if c["type"] == "ReplicaFailure"), None)
        if refusal is not None:
            if failure and failure["message"] == refusal.message:
                status["conditions"] = [failure]
            else:
                status["conditions"] = [
                    {
                        "type": "ReplicaFailure",
                        "status": "True",
                        "lastTransitionTime": now(),
                        "reason": "FailedCreate",
                        "message": refusal.message,
                    }
                ]
        elif failure and len(pods) < rs["spec"].get("replicas", 1):
            status["conditions"] = [failure]
        self.registry.set_status(REPLICA_SETS, rs, status)
