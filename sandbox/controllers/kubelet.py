"""Scheduler and kubelet in one: binds each pod to the one sandbox node and plays its life out on timers.

A healthy pod is scheduled at once, runs after half its ready delay and is Ready after the whole
delay (`Timing.ready_after`, or the `sandbox.paas.dev/ready-after-seconds` annotation on the pod
template or the Deployment), plus its own share of `Timing.ready_spread`, as real pods start unevenly. Failures come from the image tag (`pull-error`, `crash`, `slow`,
`unready`, alone or as a suffix such as `v2-crash`) or from the `sandbox.paas.dev/fault` annotation,
and produce the states and events a real kubelet shows: ErrImagePull / ImagePullBackOff,
CrashLoopBackOff with a rising restartCount, a slow start, a readiness probe that never passes.
"""

import asyncio
import hashlib
import itertools
import logging

from ..kinds import PODS
from ..registry import now
from ..store import ADDED, DELETED
from ..validation import image_tag
from . import Controller, controller_of
from .replicasets import is_active

log = logging.getLogger(__name__)

FAULT_ANNOTATION = "sandbox.paas.dev/fault"
READY_AFTER_ANNOTATION = "sandbox.paas.dev/ready-after-seconds"
FAULTS = ("pull-error", "crash", "unready", "slow")  # strongest first: a pod shows the strongest one it has
NODE = "sandbox-node"
NODE_IP = "10.0.0.10"
KUBELET, SCHEDULER = "kubelet", "default-scheduler"


def image_fault(image: str) -> str | None:
    tag = image_tag(image)
    return next((fault for fault in FAULTS if tag == fault or tag.endswith("-" + fault)), None)


def _image_id(image: str) -> str:
    return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _share(uid: str) -> float:
    """A fraction in [0, 1) that is the same for a pod at every step of its life and differs between pods."""
    return int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16) / 2**32


class Kubelet(Controller):
    def __init__(self, context):
        super().__init__(context)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._pod_ips = itertools.count(2)

    def on_change(self, change) -> None:
        if change.rt is not PODS:
            return
        uid = change.obj["metadata"]["uid"]
        if change.type == ADDED:
            self._later(uid, 0, self._bind)
        elif change.type == DELETED:
            timer = self._timers.pop(uid, None)
            if timer:
                timer.cancel()

    def resync(self) -> None:
        for pod in self.store.list(PODS):
            status = pod.get("status") or {}
            if not is_active(pod):
                continue
            if not pod["spec"].get("nodeName"):
                self._later(pod["metadata"]["uid"], 0, self._bind)
            elif not all(c.get("ready") for c in status.get("containerStatuses") or [{}]):
                self._later(pod["metadata"]["uid"], 0, self._start)

    def cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _later(self, uid: str, delay: float, step, *args) -> None:
        old = self._timers.pop(uid, None)
        if old:
            old.cancel()
        self._timers[uid] = asyncio.get_running_loop().call_later(max(delay, 0), self._run, uid, step, args)

    def _run(self, uid: str, step, args) -> None:
        self._timers.pop(uid, None)
        pod = self.store.by_uid(uid)
        if pod is None or not is_active(pod):
            return
        try:
            step(pod, *args)
        except Exception:
            log.exception("sandbox kubelet failed on pod %s", pod["metadata"]["name"])

    # --- what this pod should do -----------------------------------------------------------

    def _annotations(self, pod: dict) -> dict:
        owner = controller_of(pod, "ReplicaSet")
        owner_obj = self.store.by_uid(owner["uid"]) if owner else None
        inherited = (owner_obj["metadata"].get("annotations") or {}) if owner_obj else {}
        return {**inherited, **(pod["metadata"].get("annotations") or {})}

    def _plan(self, pod: dict) -> tuple[str | None, set, float]:
        """(the pod's fault, the containers it affects, seconds from creation to Ready)."""
        annotations = self._annotations(pod)
        try:
            ready_after = float(annotations[READY_AFTER_ANNOTATION])
        except (KeyError, ValueError):
            ready_after = self.timing.ready_after
        ready_after += self.timing.ready_spread * _share(pod["metadata"]["uid"])
        containers = pod["spec"].get("containers") or []
        forced = annotations.get(FAULT_ANNOTATION)
        if forced in FAULTS:
            return forced, {c["name"] for c in containers}, ready_after
        found = {c["name"]: image_fault(c.get("image", "")) for c in containers}
        fault = next((f for f in FAULTS if f in found.values()), None)
        return fault, {name for name, f in found.items() if f == fault and fault}, ready_after

    def _backoff(self, attempt: int) -> float:
        return min(self.timing.backoff * 2 ** max(attempt - 1, 0), self.timing.backoff_max)

    # --- steps -----------------------------------------------------------------------------

    def _bind(self, pod: dict) -> None:
        metadata = pod["metadata"]
        statuses = [self._container(c, {"waiting": {"reason": "ContainerCreating"}}) for c in pod["spec"]["containers"]]
        status = {
            **pod.get("status", {}),
            "phase": "Pending",
            "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}],
            "startTime": now(),
            "containerStatuses": statuses,
        }
        status["conditions"] = self._conditions(pod, statuses)
        bound = self.store.replace(PODS, {**pod, "spec": {**pod["spec"], "nodeName": NODE}, "status": status}, pod)
        self.recorder.record(
            bound,
            "Normal",
            "Scheduled",
            f"Successfully assigned {metadata['namespace']}/{metadata['name']} to {NODE}",
            SCHEDULER,
        )
        _, _, ready_after = self._plan(bound)
        self._later(metadata["uid"], ready_after / 2, self._start)

    def _start(self, pod: dict) -> None:
        fault, affected, ready_after = self._plan(pod)
        previous = {c["name"]: c for c in (pod.get("status") or {}).get("containerStatuses") or ()}
        statuses, pulling = [], fault == "pull-error"
        for container in pod["spec"]["containers"]:
            restarts = previous.get(container["name"], {}).get("restartCount", 0)
            if pulling and container["name"] in affected:
                statuses.append(self._pull_failure(pod, container, first=True))
            else:
                statuses.append(self._running(pod, container, restarts, ready=False, announce=True))
        ip = (pod.get("status") or {}).get("podIP") or f"10.244.0.{next(self._pod_ips) % 250 + 2}"
        extra = {"podIP": ip, "podIPs": [{"ip": ip}]}
        pod = self._write(pod, statuses, phase="Pending" if pulling else "Running", extra=extra)
        uid = pod["metadata"]["uid"]
        if pulling:
            self._later(uid, self._backoff(1), self._pull_backoff, 1)
        elif fault == "crash":
            self._later(uid, ready_after / 2, self._crash)
        elif fault == "unready":
            self._later(uid, ready_after / 2, self._unhealthy)
        else:
            delay = ready_after * self.timing.slow_factor if fault == "slow" else ready_after
            self._later(uid, delay - ready_after / 2, self._ready)

    def _ready(self, pod: dict, skip: frozenset = frozenset()) -> dict:
        statuses = [
            {**cs, "ready": cs["name"] not in skip and "running" in cs["state"]}
            for cs in pod["status"]["containerStatuses"]
        ]
        return self._write(pod, statuses, phase="Running")

    def _unhealthy(self, pod: dict) -> None:
        _, affected, _ = self._plan(pod)
        pod = self._ready(pod, skip=frozenset(affected))
        self.recorder.record(
            pod, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", KUBELET
        )
        self._later(pod["metadata"]["uid"], self.timing.backoff_max, self._unhealthy)

    def _crash(self, pod: dict) -> None:
        _, affected, _ = self._plan(pod)
        metadata, statuses = pod["metadata"], []
        restarts = 1
        for cs in pod["status"]["containerStatuses"]:
            if cs["name"] not in affected:
                statuses.append(cs)
                continue
            restarts = cs["restartCount"] + 1
            started = (cs["state"].get("running") or {}).get("startedAt", now())
            statuses.append(
                {
                    **cs,
                    "ready": False,
                    "started": False,
                    "restartCount": restarts,
                    "state": {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off {int(self._backoff(restarts))}s restarting failed container={cs['name']} "
                            f"pod={metadata['name']}_{metadata['namespace']}({metadata['uid']})",
                        }
                    },
                    "lastState": {
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error",
                            "startedAt": started,
                            "finishedAt": now(),
                            "containerID": cs.get("containerID", ""),
                        }
                    },
                }
            )
            self.recorder.record(
                pod,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {cs['name']} in "
                f"pod {metadata['name']}_{metadata['namespace']}({metadata['uid']})",
                KUBELET,
            )
        pod = self._write(pod, statuses, phase="Running")
        self._later(metadata["uid"], self._backoff(restarts), self._restart)

    def _restart(self, pod: dict) -> None:
        _, affected, ready_after = self._plan(pod)
        statuses = [
            self._running(pod, c, cs["restartCount"], ready=False, announce=True, last=cs.get("lastState"))
            if cs["name"] in affected
            else cs
            for c, cs in zip(pod["spec"]["containers"], pod["status"]["containerStatuses"], strict=True)
        ]
        pod = self._write(pod, statuses, phase="Running")
        self._later(pod["metadata"]["uid"], ready_after / 2, self._crash)

    def _pull_backoff(self, pod: dict, attempt: int) -> None:
        _, affected, _ = self._plan(pod)
        statuses = []
        for container, cs in zip(pod["spec"]["containers"], pod["status"]["containerStatuses"], strict=True):
            if container["name"] not in affected:
                statuses.append(cs)
            elif attempt % 2:
                image = container["image"]
                self.recorder.record(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"', KUBELET)
                self.recorder.record(pod, "Warning", "Failed", "Error: ImagePullBackOff", KUBELET)
                statuses.append(
                    {
                        **cs,
                        "state": {
                            "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
                        },
                    }
                )
            else:
                statuses.append(self._pull_failure(pod, container, first=False))
        pod = self._write(pod, statuses, phase="Pending")
        self._later(pod["metadata"]["uid"], self._backoff(attempt + 1), self._pull_backoff, attempt + 1)

    # --- status pieces ---------------------------------------------------------------------

    def _container(self, container: dict, state: dict, *, ready=False, restarts=0, started=False, last=None) -> dict:
        status = {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "ready": ready,
            "restartCount": restarts,
            "started": started,
            "state": state,
            "lastState": last or {},
        }
        if "running" in state:
            status["imageID"] = _image_id(container.get("image", ""))
            status["containerID"] = (
                "containerd://"
                + hashlib.sha256(f"{container['name']}{restarts}{state['running']['startedAt']}".encode()).hexdigest()
            )
        return status

    def _running(self, pod, container, restarts, *, ready, announce, last=None) -> dict:
        if announce:
            image = container.get("image", "")
            if restarts == 0:
                self.recorder.record(
                    pod, "Normal", "Pulled", f'Container image "{image}" already present on machine', KUBELET
                )
            self.recorder.record(pod, "Normal", "Started", f"Started container {container['name']}", KUBELET)
        return self._container(
            container, {"running": {"startedAt": now()}}, ready=ready, restarts=restarts, started=True, last=last
        )

    def _pull_failure(self, pod, container, *, first: bool) -> dict:
        image = container.get("image", "")
        why = (
            f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": pull access '
            "denied, repository does not exist or may require authorization"
        )
        self.recorder.record(pod, "Warning", "Failed", f'Failed to pull image "{image}": {why}', KUBELET)
        self.recorder.record(pod, "Warning", "Failed", "Error: ErrImagePull", KUBELET)
        return self._container(container, {"waiting": {"reason": "ErrImagePull", "message": why}})

    def _conditions(self, pod: dict, statuses: list) -> list:
        current = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or ()}
        not_ready = [cs["name"] for cs in statuses if not cs["ready"]]
        ready = "False" if not_ready else "True"
        timestamp = now()
        extra = (
            {"reason": "ContainersNotReady", "message": f"containers with unready status: [{' '.join(not_ready)}]"}
            if not_ready
            else {}
        )
        result = []
        for type_, status, details in (
            ("Initialized", "True", {}),
            ("Ready", ready, extra),
            ("ContainersReady", ready, extra),
            ("PodScheduled", "True", {}),
        ):
            old = current.get(type_)
            since = old["lastTransitionTime"] if old and old["status"] == status else timestamp
            result.append(
                {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": since, **details}
            )
        return result

    def _write(self, pod: dict, statuses: list, *, phase: str, extra: dict | None = None) -> dict:
        status = {
            **pod["status"],
            **(extra or {}),
            "phase": phase,
            "containerStatuses": statuses,
            "conditions": self._conditions(pod, statuses),
        }
        return self.registry.set_status(PODS, pod, status)
