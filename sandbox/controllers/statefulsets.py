"""The StatefulSet controller: pods with stable names, made, replaced and removed in order.

As kube-controller-manager's statefulset controller does it: pod `<name>-<ordinal>` for each ordinal
below `spec.replicas`, labelled with its revision (`controller-revision-hash: <name>-<hash of the
template>`), its name (`statefulset.kubernetes.io/pod-name`) and its index
(`apps.kubernetes.io/pod-index`), its hostname the pod's name and its subdomain `spec.serviceName`.

- `OrderedReady` (the default): a pod is made only once every lower ordinal is Running and Ready,
  and pods above `spec.replicas` go highest first, one at a time, while the rest are Ready.
  `Parallel`: all are made or removed at once.
- `RollingUpdate` (the default): once every pod is Ready, the highest ordinal at or above
  `rollingUpdate.partition` that runs an old revision is deleted and made again from the new
  template, one at a time. `OnDelete`: a pod takes the new template only when someone deletes it.
- A pod that failed or finished is deleted and made again.
- `status`: replicas, readyReplicas, availableReplicas (after `minReadySeconds`), currentReplicas,
  updatedReplicas, currentRevision, updateRevision (the current revision moves up when every pod runs
  the new one), observedGeneration, collisionCount.

Not like the real controller: no ControllerRevision objects are stored (the revision names are the
same), and `volumeClaimTemplates` make no PersistentVolumeClaims (the sandbox serves no volumes).
"""

import time

from ..admission import TERMINAL_PHASES
from ..errors import APIError
from ..kinds import BY_KEY, PODS
from . import Controller, WorkQueue, controller_of, owner_reference
from .deployments import template_hash
from .replicasets import ready_since

STATEFUL_SETS = BY_KEY["statefulsets.apps"]
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
COMPONENT = "statefulset-controller"


def revision_of(sts: dict) -> str:
    return f"{sts['metadata']['name']}-{template_hash(sts['spec']['template'])}"


def ordinal_of(sts: dict, pod: dict) -> int | None:
    prefix, name = f"{sts['metadata']['name']}-", pod["metadata"]["name"]
    suffix = name[len(prefix) :] if name.startswith(prefix) else ""
    return int(suffix) if suffix.isdigit() else None


def _running_and_ready(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and ready_since(pod) is not None


class StatefulSetController(Controller):
    def __init__(self, context):
        super().__init__(context)
        self.queue = WorkQueue("statefulset", self.reconcile)

    def queues(self):
        return [self.queue]

    def on_change(self, change) -> None:
        if change.rt is STATEFUL_SETS:
            self.queue.add((change.namespace, change.obj["metadata"]["name"]))
        elif change.rt is PODS:
            owner = controller_of(change.obj, "StatefulSet")
            if owner:
                self.queue.add((change.namespace, owner["name"]))

    def resync(self) -> None:
        for sts in self.store.list(STATEFUL_SETS):
            self.queue.add((sts["metadata"]["namespace"], sts["metadata"]["name"]))

    def reconcile(self, key) -> None:
        namespace, name = key
        sts = self.store.get(STATEFUL_SETS, namespace, name)
        if sts is None or "deletionTimestamp" in sts["metadata"]:
            return
        uid, spec = sts["metadata"]["uid"], sts["spec"]
        pods: dict[int, dict] = {}
        for pod in self.store.dependents(uid, PODS):
            ordinal = ordinal_of(sts, pod)
            ours = (controller_of(pod, "StatefulSet") or {}).get("uid") == uid
            if ordinal is not None and ours and "deletionTimestamp" not in pod["metadata"]:
                pods[ordinal] = pod
        wanted = spec.get("replicas", 1)
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        update = revision_of(sts)
        blocked = False

        for ordinal in range(wanted):  # make what is missing, replace what failed
            pod = pods.get(ordinal)
            if pod is not None and (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
                self._delete(sts, pod)
                del pods[ordinal]
                pod = None
            if pod is None:
                made = self._create(sts, ordinal, update)
                if made is None:
                    blocked = True
                    break
                pods[ordinal] = made
                if ordered:
                    blocked = True
                    break
            elif ordered and not _running_and_ready(pod):
                blocked = True
                break

        condemned = sorted((o for o in pods if o >= wanted), reverse=True)
        if condemned and not (ordered and blocked):
            for ordinal in condemned:
                if ordered and not all(_running_and_ready(pods[o]) for o in pods if o < ordinal):
                    break
                self._delete(sts, pods.pop(ordinal))
                if ordered:
                    break

        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate" and not blocked and not condemned:
            partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
            if len(pods) == wanted and all(_running_and_ready(pod) for pod in pods.values()):
                stale = [o for o in sorted(pods, reverse=True) if o >= partition and _revision(pods[o]) != update]
                if stale:  # made again from the new template on the next reconcile
                    self._delete(sts, pods.pop(stale[0]))
        self._sync_status(sts, list(pods.values()), update)

    def _create(self, sts: dict, ordinal: int, revision: str) -> dict | None:
        template = sts["spec"]["template"]
        template_meta = template.get("metadata") or {}
        name = f"{sts['metadata']['name']}-{ordinal}"
        labels = {
            **(template_meta.get("labels") or {}),
            REVISION_LABEL: revision,
            POD_NAME_LABEL: name,
            POD_INDEX_LABEL: str(ordinal),
        }
        metadata = {
            "name": name,
            "namespace": sts["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(sts)],
        }
        if template_meta.get("annotations"):
            metadata["annotations"] = template_meta["annotations"]
        pod_spec = {**(template.get("spec") or {}), "hostname": name}
        if sts["spec"].get("serviceName"):
            pod_spec["subdomain"] = sts["spec"]["serviceName"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}
        try:
            made = self.registry.create(PODS, pod, namespace=sts["metadata"]["namespace"])
        except APIError as error:
            self.recorder.record(
                sts,
                "Warning",
                "FailedCreate",
                f"create Pod {name} in StatefulSet {sts['metadata']['name']} failed error: {error.message}",
                COMPONENT,
                aggregate=("FailedCreate",),
            )
            self.queue.add_after((sts["metadata"]["namespace"], sts["metadata"]["name"]), self.timing.retry_after)
            return None
        self.recorder.record(
            sts,
            "Normal",
            "SuccessfulCreate",
            f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful",
            COMPONENT,
        )
        return made

    def _delete(self, sts: dict, pod: dict) -> None:
        self.registry.delete(PODS, pod)
        self.recorder.record(
            sts,
            "Normal",
            "SuccessfulDelete",
            f"delete Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']} successful",
            COMPONENT,
        )

    def _sync_status(self, sts: dict, pods: list, update: str) -> None:
        current_status = sts.get("status") or {}
        min_ready = sts["spec"].get("minReadySeconds", 0)
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
            self.queue.add_after((sts["metadata"]["namespace"], sts["metadata"]["name"]), wait + 0.05)
        current = current_status.get("currentRevision") or update
        updated = sum(1 for pod in pods if _revision(pod) == update)
        wanted = sts["spec"].get("replicas", 1)
        if updated == wanted and ready == wanted and len(pods) == wanted:
            current = update  # the rollout is complete: the new revision is the current one
        counts = {
            "readyReplicas": ready,
            "currentReplicas": sum(1 for pod in pods if _revision(pod) == current),
            "updatedReplicas": updated,
        }
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "availableReplicas": available,
            **{field: value for field, value in counts.items() if value},
            "currentRevision": current,
            "updateRevision": update,
            "collisionCount": 0,
        }
        if status != current_status:
            self.registry.set_status(STATEFUL_SETS, sts, status)


def _revision(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, "")
