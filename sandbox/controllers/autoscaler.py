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


class AutoscalerController(Controller):
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
        elif (change.rt is DEPLOYMENTS and change.old is not None and change.type != "DELETED"
              and self._load(change.old) != self._load(change.obj)):
            for hpa in self.store.list(HPAS, change.namespace):
                if hpa["spec"]["scaleTargetRef"].get("name") == change.obj["metadata"]["name"]:
                    self.queue.add((change.namespace, hpa["metadata"]["name"]))

    def reconcile(self, key) -> None:
        namespace, name = key
        hpa = self.store.get(HPAS, namespace, name)
        if hpa is None:
            return
        spec, current = hpa["spec"], hpa.get("status") or {}
        conditions = {c["type"]: c for c in current.get("conditions") or ()}
        timestamp = now()
        target_ref = spec["scaleTargetRef"]
        deployment = self.store.get(DEPLOYMENTS, namespace, target_ref["name"]) \
            if target_ref.get("kind") == "Deployment" else None
        if deployment is None:
            status = {**current, "currentReplicas": current.get("currentReplicas", 0),
                      "desiredReplicas": current.get("desiredReplicas", 0), "conditions": [_condition(
                          conditions, "AbleToScale", "False", "FailedGetScale",
                          f'the HPA controller was unable to get the target\'s current scale: deployments.apps '
                          f'"{target_ref["name"]}" not found', timestamp)]}
            self.registry.set_status(HPAS, hpa, status)
            return
        replicas = deployment["spec"]["replicas"]
        minimum, maximum = spec.get("minReplicas", 1), spec["maxReplicas"]
        target = cpu_target(spec)
        load = self._load(deployment)
        result = [_condition(conditions, "AbleToScale", "True", "ReadyForNewScale",
                             "recommended size matches current size", timestamp)]
        status = {"currentReplicas": replicas, "desiredReplicas": replicas}
        if "lastScaleTime" in current:
            status["lastScaleTime"] = current["lastScaleTime"]
        if replicas == 0 and minimum != 0:
            result.append(_condition(conditions, "ScalingActive", "False", "ScalingDisabled",
                                     "scaling is disabled since the replica count of the target is zero", timestamp))
            self.registry.set_status(HPAS, hpa, {**status, "conditions": result})
            return
        wanted, reason = replicas, ""
        if load is None:
            result.append(_condition(conditions, "ScalingActive", "False", "FailedGetResourceMetric",
                                     "the HPA was unable to compute the replica count: no metrics returned from "
                                     f"resource metrics API (set the {LOAD_ANNOTATION} annotation)", timestamp))
        else:
            status["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": int(load)}}}]
            result.append(_condition(conditions, "ScalingActive", "True", "ValidMetricFound",
                                     "the HPA was able to successfully calculate a replica count from cpu resource "
                                     "utilization (percentage of request)", timestamp))
            ratio = load / target
            if abs(ratio - 1) > TOLERANCE:
                wanted = math.ceil(ratio * replicas)
                reason = ("cpu resource utilization (percentage of request) above target" if ratio > 1
                          else "All metrics below target")
        clamped = min(max(wanted, minimum), maximum)
        if clamped != wanted or replicas < minimum or replicas > maximum:
            too_many = wanted > maximum or replicas > maximum
            reason = reason or ("Current number of replicas above Spec.MaxReplicas" if too_many
                                else "Current number of replicas below Spec.MinReplicas")
            result.append(_condition(conditions, "ScalingLimited", "True", "TooManyReplicas" if too_many
                                     else "TooFewReplicas", "the desired replica count is more than the maximum "
                                     "replica count" if too_many else "the desired replica count is less than the "
                                     "minimum replica count", timestamp))
        else:
            result.append(_condition(conditions, "ScalingLimited", "False", "DesiredWithinRange",
                                     "the desired count is within the acceptable range", timestamp))
        if clamped != replicas:
            self._scale(deployment, clamped)
            self.recorder.record(hpa, "Normal", "SuccessfulRescale", f"New size: {clamped}; reason: {reason}",
                                 "horizontal-pod-autoscaler")
            status["desiredReplicas"] = clamped
            status["lastScaleTime"] = timestamp
            result[0] = _condition(conditions, "AbleToScale", "True", "SucceededRescale",
                                   f"the HPA controller was able to update the target scale to {clamped}", timestamp)
        status["conditions"] = result
        if hpa["metadata"].get("generation"):
            status["observedGeneration"] = hpa["metadata"]["generation"]
        self.registry.set_status(HPAS, hpa, status)

    @staticmethod
    def _load(deployment: dict) -> float | None:
        try:
            return float(deployment["metadata"].get("annotations", {})[LOAD_ANNOTATION])
        except (KeyError, ValueError):
            return None

    def _scale(self, deployment: dict, replicas: int) -> None:
        self.registry.update(DEPLOYMENTS, deployment, {**deployment, "spec": {**deployment["spec"],
                                                                               "replicas": replicas}})
