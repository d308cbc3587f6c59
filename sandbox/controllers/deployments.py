"""The Deployment controller: one ReplicaSet per pod template, rolled with maxSurge / maxUnavailable,
and a status (replica counts, Available / Progressing / ReplicaFailure conditions) that matches
what kube-controller-manager reports, including ProgressDeadlineExceeded.

It follows the real controller's arithmetic (deployment/rolling.go, sync.go, progress.go) in a
shortened form: scale the new ReplicaSet up as far as maxSurge allows, scale old ones down as far
as maxUnavailable allows (unhealthy replicas first), and keep revisionHistoryLimit old ones.
"""

import json
import math
import time
import zlib

from ..kinds import DEPLOYMENTS, PODS, REPLICA_SETS
from ..registry import now
from ..store import DELETED
from . import Controller, WorkQueue, controller_of, owner_reference

REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
_NOT_COPIED = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/")
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict) -> str:
    digest = zlib.crc32(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    return "".join(_ALPHABET[ord(c) % len(_ALPHABET)] for c in str(digest))


def _resolve(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value)


def surge_and_unavailable(deployment: dict) -> tuple[int, int]:
    spec = deployment["spec"]
    if spec["strategy"].get("type") != "RollingUpdate":
        return 0, 0
    rolling, replicas = spec["strategy"].get("rollingUpdate") or {}, spec["replicas"]
    surge = _resolve(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def _spec(rs: dict | None) -> int:
    return rs["spec"].get("replicas", 0) if rs else 0


def _status(rs: dict | None, field: str) -> int:
    return (rs.get("status") or {}).get(field, 0) if rs else 0


def _copied_annotations(deployment: dict) -> dict:
    return {k: v for k, v in (deployment["metadata"].get("annotations") or {}).items() if not k.startswith(_NOT_COPIED)}


def _replica_counts(desired: int, new_rs: dict | None, old: list) -> dict:
    """The Deployment's replica counts, summed over its ReplicaSets as kube-controller-manager does."""
    every = ([new_rs] if new_rs else []) + old
    counts = {
        "replicas": sum(_status(rs, "replicas") for rs in every),
        "updatedReplicas": _status(new_rs, "replicas"),
        "readyReplicas": sum(_status(rs, "readyReplicas") for rs in every),
        "availableReplicas": sum(_status(rs, "availableReplicas") for rs in every),
    }
    counts["unavailableReplicas"] = max(desired - counts["availableReplicas"], 0)
    return counts


def _availability(deployment: dict, counts: dict) -> tuple[str, str, str]:
    """The Available condition (status, reason, message): at least replicas - maxUnavailable available."""
    _, max_unavailable = surge_and_unavailable(deployment)
    if counts["availableReplicas"] >= deployment["spec"]["replicas"] - max_unavailable:
        return "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
    return "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."


def _replica_failure(replica_sets: list) -> tuple[str, str] | None:
    """The reason and message of the first ReplicaFailure a ReplicaSet reports (a quota refusal), if any."""
    return next(
        (
            (c["reason"], c["message"])
            for rs in replica_sets
            for c in (rs.get("status") or {}).get("conditions") or []
            if c["type"] == "ReplicaFailure" and c["status"] == "True"
        ),
        None,
    )


class DeploymentController(Controller):
    def __init__(self, context):
        super().__init__(context)
        self.queue = WorkQueue("deployment", self.reconcile)
        self._last_progress: dict[str, float] = {}

    def queues(self):
        return [self.queue]

    def on_change(self, change) -> None:
        if change.rt is DEPLOYMENTS:
            if change.type == DELETED:
                self._last_progress.pop(change.obj["metadata"]["uid"], None)
                return
            self.queue.add((change.namespace, change.obj["metadata"]["name"]))
        elif change.rt is REPLICA_SETS:
            owner = controller_of(change.obj, "Deployment")
            if owner:
                self.queue.add((change.namespace, owner["name"]))

    def resync(self) -> None:
        for deployment in self.store.list(DEPLOYMENTS):
            self.queue.add((deployment["metadata"]["namespace"], deployment["metadata"]["name"]))

    def reconcile(self, key) -> None:
        namespace, name = key
        deployment = self.store.get(DEPLOYMENTS, namespace, name)
        if deployment is None:
            return
        uid = deployment["metadata"]["uid"]
        if "deletionTimestamp" in deployment["metadata"]:
            self._last_progress.pop(uid, None)
            return
        owned = [
            rs
            for rs in self.store.dependents(uid, REPLICA_SETS)
            if (controller_of(rs, "Deployment") or {}).get("uid") == uid
        ]
        owned.sort(key=lambda rs: (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"]))
        template = template_hash(deployment["spec"]["template"])
        new_rs = next((rs for rs in owned if rs["metadata"].get("labels", {}).get(HASH_LABEL) == template), None)
        old = [rs for rs in owned if rs is not new_rs]
        created = None
        if not deployment["spec"].get("paused"):
            if new_rs is None:
                new_rs = created = self._create_replica_set(deployment, template, old)
            else:
                new_rs = self._sync_replica_set(deployment, new_rs, old)
            deployment = self._sync_revision(deployment, new_rs)
            if deployment["spec"]["strategy"].get("type") == "Recreate":
                new_rs, old = self._recreate(deployment, new_rs, old)
            else:
                new_rs, old = self._roll(deployment, new_rs, old)
            old = self._clean_up(deployment, old)
        self._sync_status(deployment, new_rs, old, created)

    # --- ReplicaSets -----------------------------------------------------------------------

    def _create_replica_set(self, deployment: dict, template_hash_: str, old: list) -> dict:
        metadata, spec = deployment["metadata"], deployment["spec"]
        revision = max((int(rs["metadata"].get("annotations", {}).get(REVISION, 0)) for rs in old), default=0) + 1
        template = spec["template"]
        labels = {**(template.get("metadata") or {}).get("labels", {}), HASH_LABEL: template_hash_}
        surge, _ = surge_and_unavailable(deployment)
        selector = spec["selector"]
        match_labels = {**selector.get("matchLabels", {}), HASH_LABEL: template_hash_}
        replica_set = {
            "metadata": {
                "name": f"{metadata['name']}-{template_hash_}",
                "namespace": metadata["namespace"],
                "labels": labels,
                "annotations": {
                    **_copied_annotations(deployment),
                    REVISION: str(revision),
                    DESIRED: str(spec["replicas"]),
                    MAX_REPLICAS: str(spec["replicas"] + surge),
                },
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": spec.get("minReadySeconds", 0),
                "selector": {**selector, "matchLabels": match_labels},
                "template": {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}},
            },
        }
        return self.registry.create(REPLICA_SETS, replica_set, namespace=metadata["namespace"], admit=False)

    def _sync_replica_set(self, deployment: dict, rs: dict, old: list) -> dict:
        """Keep the new ReplicaSet's annotations (revision, copied ones) and minReadySeconds current."""
        revision = int(rs["metadata"].get("annotations", {}).get(REVISION, 0))
        newest_old = max((int(o["metadata"].get("annotations", {}).get(REVISION, 0)) for o in old), default=0)
        annotations = {**(rs["metadata"].get("annotations") or {}), **_copied_annotations(deployment)}
        if revision <= newest_old:
            annotations[REVISION] = str(newest_old + 1)
        min_ready = deployment["spec"].get("minReadySeconds", 0)
        if annotations == rs["metadata"].get("annotations") and rs["spec"].get("minReadySeconds", 0) == min_ready:
            return rs
        updated = {
            **rs,
            "metadata": {**rs["metadata"], "annotations": annotations},
            "spec": {**rs["spec"], "minReadySeconds": min_ready},
        }
        return self.registry.update(REPLICA_SETS, rs, updated)

    def _sync_revision(self, deployment: dict, new_rs: dict) -> dict:
        revision = new_rs["metadata"]["annotations"].get(REVISION)
        annotations = deployment["metadata"].get("annotations") or {}
        if annotations.get(REVISION) == revision:
            return deployment
        metadata = {**deployment["metadata"], "annotations": {**annotations, REVISION: revision}}
        return self.store.replace(DEPLOYMENTS, {**deployment, "metadata": metadata}, deployment)

    def _scale(self, deployment: dict, rs: dict, replicas: int) -> dict:
        current = _spec(rs)
        if current == replicas:
            return rs
        surge, _ = surge_and_unavailable(deployment)
        desired = deployment["spec"]["replicas"]
        annotations = {
            **rs["metadata"].get("annotations", {}),
            DESIRED: str(desired),
            MAX_REPLICAS: str(desired + surge),
        }
        scaled = {
            **rs,
            "metadata": {**rs["metadata"], "annotations": annotations},
            "spec": {**rs["spec"], "replicas": replicas},
        }
        updated = self.registry.update(REPLICA_SETS, rs, scaled)
        direction = "up" if replicas > current else "down"
        self.recorder.record(
            deployment,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} from {current} to {replicas}",
            "deployment-controller",
        )
        return updated

    # --- strategies ------------------------------------------------------------------------

    def _roll(self, deployment: dict, new_rs: dict, old: list) -> tuple[dict, list]:
        desired = deployment["spec"]["replicas"]
        surge, max_unavailable = surge_and_unavailable(deployment)
        if _spec(new_rs) > desired:
            new_rs = self._scale(deployment, new_rs, desired)
        elif _spec(new_rs) < desired:
            total = _spec(new_rs) + sum(_spec(rs) for rs in old)
            room = desired + surge - total
            if room > 0:
                new_rs = self._scale(deployment, new_rs, _spec(new_rs) + min(room, desired - _spec(new_rs)))
        if not any(_spec(rs) for rs in old):
            return new_rs, old
        min_available = desired - max_unavailable
        total = _spec(new_rs) + sum(_spec(rs) for rs in old)
        new_unavailable = _spec(new_rs) - _status(new_rs, "availableReplicas")
        budget = total - min_available - new_unavailable
        old = list(old)
        for i, rs in enumerate(old):
            unhealthy = _spec(rs) - _status(rs, "availableReplicas")
            if budget <= 0:
                break
            if unhealthy > 0:
                cut = min(unhealthy, budget)
                old[i] = self._scale(deployment, rs, _spec(rs) - cut)
                budget -= cut
        available = _status(new_rs, "availableReplicas") + sum(
            min(_status(rs, "availableReplicas"), _spec(rs)) for rs in old
        )
        budget = available - min_available
        for i, rs in enumerate(old):
            if budget <= 0:
                break
            if _spec(rs) > 0:
                cut = min(_spec(rs), budget)
                old[i] = self._scale(deployment, rs, _spec(rs) - cut)
                budget -= cut
        return new_rs, old

    def _recreate(self, deployment: dict, new_rs: dict, old: list) -> tuple[dict, list]:
        old = [self._scale(deployment, rs, 0) for rs in old]
        if any(self.store.dependents(rs["metadata"]["uid"], PODS) for rs in old):
            return new_rs, old
        return self._scale(deployment, new_rs, deployment["spec"]["replicas"]), old

    def _clean_up(self, deployment: dict, old: list) -> list:
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        idle = [
            rs
            for rs in old
            if _spec(rs) == 0
            and _status(rs, "replicas") == 0
            and not self.store.dependents(rs["metadata"]["uid"], PODS)
        ]
        idle.sort(key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, 0)))
        doomed = idle[: max(len(idle) - limit, 0)]
        for rs in doomed:
            self.registry.delete(REPLICA_SETS, rs, propagation="Background")
        return [rs for rs in old if rs not in doomed]

    # --- status ----------------------------------------------------------------------------

    def _sync_status(self, deployment: dict, new_rs: dict | None, old: list, created: dict | None) -> None:
        """Write the Deployment's status from its ReplicaSets: observedGeneration, counts, conditions."""
        current = deployment.get("status") or {}
        counts = _replica_counts(deployment["spec"]["replicas"], new_rs, old)
        status = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            **{field: value for field, value in counts.items() if value},
        }
        conditions = self._conditions(deployment, new_rs, old, created, counts, current)
        if conditions:
            status["conditions"] = conditions
        if current.get("collisionCount"):
            status["collisionCount"] = current["collisionCount"]
        self.registry.set_status(DEPLOYMENTS, deployment, status)

    def _conditions(self, deployment, new_rs, old, created, counts, current) -> list[dict]:
        """Available, Progressing and ReplicaFailure as they stand now. A Progressing condition that
        `_progress` leaves alone is kept; a ReplicaFailure no ReplicaSet reports any more goes."""
        conditions = {c["type"]: c for c in current.get("conditions") or []}
        wanted = {"Available": _availability(deployment, counts)}
        progressing = self._progress(deployment, new_rs, old, created, counts, current, conditions.get("Progressing"))
        if progressing:
            wanted["Progressing"] = progressing
        failure = _replica_failure(([new_rs] if new_rs else []) + old)
        if failure:
            wanted["ReplicaFailure"] = ("True",) + failure
        timestamp = now()
        result = []
        for type_ in ("Available", "Progressing", "ReplicaFailure"):
            if type_ in wanted:
                result.append(self._condition(conditions.get(type_), type_, *wanted[type_], timestamp))
            elif type_ in conditions and type_ != "ReplicaFailure":
                result.append(conditions[type_])
        return result

    def _progress(self, deployment, new_rs, old, created, counts, current, condition) -> tuple | None:
        """The Progressing condition (status, reason, message), or None to leave it as it is."""
        uid, spec = deployment["metadata"]["uid"], deployment["spec"]
        clock = time.monotonic()
        paused = self._paused(deployment, condition, clock)
        if paused or new_rs is None:
            return paused or None
        name = new_rs["metadata"]["name"]
        desired = spec["replicas"]
        complete = (
            counts["updatedReplicas"] == desired
            and counts["replicas"] == desired
            and counts["availableReplicas"] == desired
        )
        if complete:
            self._last_progress.pop(uid, None)
            return "True", "NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.'
        scaling_only = (
            condition
            and condition["reason"] == "NewReplicaSetAvailable"
            and not any(_spec(rs) or _status(rs, "replicas") for rs in old)
        )
        if scaling_only:
            return None
        if created is not None:
            self._last_progress[uid] = clock
            return "True", "NewReplicaSetCreated", f'Created new replica set "{name}"'
        before = {field: current.get(field, 0) for field in ("updatedReplicas", "readyReplicas", "availableReplicas")}
        old_before = current.get("replicas", 0) - current.get("updatedReplicas", 0)
        moved = (
            any(counts[field] > before[field] for field in before)
            or counts["replicas"] - counts["updatedReplicas"] < old_before
        )
        if condition is None or moved or uid not in self._last_progress:
            self._last_progress[uid] = clock
            if condition is None or condition["reason"] == "NewReplicaSetAvailable":
                return "True", "FoundNewReplicaSet", f'Found new replica set "{name}"'
            return "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
        deadline = spec.get("progressDeadlineSeconds")
        if deadline is None:
            return None
        remaining = self._last_progress[uid] + deadline - clock
        if remaining <= 0:
            return "False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}" has timed out progressing.'
        self.queue.add_after((deployment["metadata"]["namespace"], deployment["metadata"]["name"]), remaining + 0.01)
        return None

    def _paused(self, deployment: dict, condition: dict | None, clock: float) -> tuple | None:
        """Progressing while paused or just resumed, as kube-controller-manager reports it. The deadline
        clock stops while paused (no progress is estimated) and starts again from the resume; a timeout
        reported before the pause stands."""
        uid, spec = deployment["metadata"]["uid"], deployment["spec"]
        reason = condition and condition["reason"]
        if spec.get("progressDeadlineSeconds") is None or reason == "ProgressDeadlineExceeded":
            return None
        if spec.get("paused"):
            self._last_progress.pop(uid, None)
            return "Unknown", "DeploymentPaused", "Deployment is paused"
        if reason == "DeploymentPaused":
            self._last_progress[uid] = clock
            key = (deployment["metadata"]["namespace"], deployment["metadata"]["name"])
            self.queue.add_after(key, spec["progressDeadlineSeconds"] + 0.01)
            return "Unknown", "DeploymentResumed", "Deployment is resumed"
        return None

    @staticmethod
    def _condition(current: dict | None, type_: str, status: str, reason: str, message: str, timestamp: str) -> dict:
        same = current and (current["status"], current.get("reason"), current.get("message")) == (
            status,
            reason,
            message,
        )
        if same and (reason != "ReplicaSetUpdated" or current["lastUpdateTime"] == timestamp):
            return current
        transition = current["lastTransitionTime"] if current and current["status"] == status else timestamp
        return {
            "type": type_,
            "status": status,
            "lastUpdateTime": timestamp,
            "lastTransitionTime": transition,
            "reason": reason,
            "message": message,
        }
