"""HorizontalPodAutoscaler (autoscaling/v2) over Deployments, driven by a synthetic CPU load.

There is no metrics server: the load is the `sandbox.paas.dev/load` annotation on the target
Deployment, read as average CPU utilization in percent of requests. The replica arithmetic is the
real one (desired = ceil(current * load / target), a 10 % tolerance, clamped to min and max), and
the status and conditions use the real reasons. Scaling happens at once: there is no stabilization
window, so tests see the result after one `Timing.hpa_interval`.
"""

import asyncio
import math

from ..kinds import DEPLOYMENTS, HPAS
from ..registry import now
from . import Controller, WorkQueue

LOAD_ANNOTATION = "sandbox.paas.dev/load"
DEFAULT_TARGET = 80
TOLERANCE = 0.1


def cpu_target(spec: dict) -> int:
    for metric in spec.get("metrics") or ():
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu" and "averageUtilization" in target:
            return int(target["averageUtilization"])
    return DEFAULT_TARGET


def _condition(current: dict, type_: str, status: str, reason: str, message: str, timestamp: str) -> dict:
    old = current.get(type_)
    if old and (old["status"], old["reason"], old["message"]) == (status, reason, message):
        return old
    since = old["lastTransitionTime"] if old and old["status"] == status else timestamp
    return {"type": type_, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}


def _target_missing(hpa: dict, current: dict, conditions: dict, timestamp: str) -> dict:
    """The status of an HPA whose target Deployment does not exist: counts kept, unable to scale."""
    name = hpa["spec"]["scaleTargetRef"]["name"]
    return {
        **current,
        "currentReplicas": current.get("currentReplicas", 0),
        "desiredReplicas": current.get("desiredReplicas", 0),
        "conditions": [
            _condition(
                conditions,
                "AbleToScale",
                "False",
                "FailedGetScale",
                f'the HPA controller was unable to get the target\'s current scale: deployments.apps "{name}" not found',
                timestamp,
            )
        ],
    }


def _recommendation(
    load: float | None, target: int, replicas: int, conditions: dict, timestamp: str
) -> tuple[int, str, dict]:
    """The replica count the load asks for, why ("" for no change), and the ScalingActive condition."""
    if load is None:
        return (
            replicas,
            "",
            _condition(
                conditions,
                "ScalingActive",
                "False",
                "FailedGetResourceMetric",
                "the HPA was unable to compute the replica count: no metrics returned from "
                f"resource metrics API (set the {LOAD_ANNOTATION} annotation)",
                timestamp,
            ),
        )
    active = _condition(
        conditions,
        "ScalingActive",
        "True",
        "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from cpu resource "
        "utilization (percentage of request)",
        timestamp,
    )
    ratio = load / target
    if abs(ratio - 1) <= TOLERANCE:
        return replicas, "", active
    reason = (
        "cpu resource utilization (percentage of request) above target" if ratio > 1 else "All metrics below target"
    )
    return math.ceil(ratio * replicas), reason, active


def _clamp(
    wanted: int, replicas: int, minimum: int, maximum: int, reason: str, conditions: dict, timestamp: str
) -> tuple[int, str, dict]:
    """The count within minReplicas..maxReplicas, the reason for a change, and the ScalingLimited condition."""
    clamped = min(max(wanted, minimum), maximum)
    if clamped == wanted and minimum <= replicas <= maximum:
        return (
            clamped,
            reason,
            _condition(
                conditions,
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
                timestamp,
            ),
        )
    if wanted > maximum or replicas > maximum:
        reason = reason or "Current number of replicas above Spec.MaxReplicas"
        return (
            clamped,
            reason,
            _condition(
                conditions,
                "ScalingLimited",
                "True",
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
                timestamp,
            ),
        )
    reason = reason or "Current number of replicas below Spec.MinReplicas"
    return (
        clamped,
        reason,
        _condition(
            conditions,
            "ScalingLimited",
            "True",
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
            timestamp,
        ),
    )


class AutoscalerController(Controller):
    """Sets each HPA's status from its target's synthetic load and scales the target within min and max."""

    def __init__(self, context):
        super().__init__(context)
        self.queue = WorkQueue("horizontal-pod-autoscaler", self.reconcile)

    def queues(self):
        return [self.queue]

    def background(self):
        return [self._tick()]

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.timing.hpa_interval)
            self.resync()

    def resync(self) -> None:
        for hpa in self.store.list(HPAS):
            self.queue.add((hpa["metadata"]["namespace"], hpa["metadata"]["name"]))

    def on_change(self, change) -> None:
        if change.rt is HPAS and change.type != "DELETED":
            self.queue.add((change.namespace, change.obj["metadata"]["name"]))
        elif (
            change.rt is DEPLOYMENTS
            and change.old is not None
            and change.type != "DELETED"
            and self._load(change.old) != self._load(change.obj)
        ):
            for hpa in self.store.list(HPAS, change.namespace):
                if hpa["spec"]["scaleTargetRef"].get("name") == change.obj["metadata"]["name"]:
                    self.queue.add((change.namespace, hpa["metadata"]["name"]))

    def reconcile(self, key) -> None:
        namespace, name = key
        hpa = self.store.get(HPAS, namespace, name)
        if hpa is None:
            return
        current = hpa.get("status") or {}
        conditions = {c["type"]: c for c in current.get("conditions") or ()}
        timestamp = now()
        deployment = self._target(hpa)
        if deployment is None:
            self.registry.set_status(HPAS, hpa, _target_missing(hpa, current, conditions, timestamp))
            return
        self.registry.set_status(HPAS, hpa, self._autoscale(hpa, deployment, current, conditions, timestamp))

    def _target(self, hpa: dict) -> dict | None:
        ref = hpa["spec"]["scaleTargetRef"]
        if ref.get("kind") != "Deployment":
            return None
        return self.store.get(DEPLOYMENTS, hpa["metadata"]["namespace"], ref["name"])

    def _autoscale(self, hpa: dict, deployment: dict, current: dict, conditions: dict, timestamp: str) -> dict:
        """Compare the load with the target, scale the Deployment when its count must change, and return
        the HPA's new status."""
        spec, replicas = hpa["spec"], deployment["spec"]["replicas"]
        minimum, maximum = spec.get("minReplicas", 1), spec["maxReplicas"]
        able = _condition(
            conditions, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size", timestamp
        )
        status = {"currentReplicas": replicas, "desiredReplicas": replicas}
        if "lastScaleTime" in current:
            status["lastScaleTime"] = current["lastScaleTime"]
        if replicas == 0 and minimum != 0:
            disabled = _condition(
                conditions,
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                timestamp,
            )
            return {**status, "conditions": [able, disabled]}
        load = self._load(deployment)
        wanted, reason, active = _recommendation(load, cpu_target(spec), replicas, conditions, timestamp)
        if load is not None:
            status["currentMetrics"] = [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": int(load)}}}
            ]
        clamped, reason, limited = _clamp(wanted, replicas, minimum, maximum, reason, conditions, timestamp)
        if clamped != replicas:
            able = self._rescale(hpa, deployment, clamped, reason, conditions, timestamp)
            status["desiredReplicas"] = clamped
            status["lastScaleTime"] = timestamp
        status["conditions"] = [able, active, limited]
        if hpa["metadata"].get("generation"):
            status["observedGeneration"] = hpa["metadata"]["generation"]
        return status

    def _rescale(
        self, hpa: dict, deployment: dict, replicas: int, reason: str, conditions: dict, timestamp: str
    ) -> dict:
        """Scale the target, record why, and return the AbleToScale condition that says so."""
        self._scale(deployment, replicas)
        self.recorder.record(
            hpa, "Normal", "SuccessfulRescale", f"New size: {replicas}; reason: {reason}", "horizontal-pod-autoscaler"
        )
        return _condition(
            conditions,
            "AbleToScale",
            "True",
            "SucceededRescale",
            f"the HPA controller was able to update the target scale to {replicas}",
            timestamp,
        )

    @staticmethod
    def _load(deployment: dict) -> float | None:
        try:
            return float(deployment["metadata"].get("annotations", {})[LOAD_ANNOTATION])
        except (KeyError, ValueError):
            return None

    def _scale(self, deployment: dict, replicas: int) -> None:
        self.registry.update(
            DEPLOYMENTS, deployment, {**deployment, "spec": {**deployment["spec"], "replicas": replicas}}
        )
