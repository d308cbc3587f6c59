"""Kubernetes objects of a canary step or a blue-green colour: pure and deterministic.

They are built from the rolling objects of apps/deployments/manifests.py and renamed, so the pod
spec of a canary or a colour is exactly the one the release would roll out natively.
"""

import copy
import math

from ..manifests import LABEL, render, selector

TRACK = f"{LABEL}/track"
COLOUR = f"{LABEL}/colour"
COLOURS = ("blue", "green")
TRAFFIC_KINDS = ("Service", "Ingress", "HTTPRoute")
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"


def canary_name(release) -> str:
    return f"{release.application.name}-canary"


def colour_name(release, colour: str) -> str:
    return f"{release.application.name}-{colour}"


def other_colour(colour: str) -> str:
    return COLOURS[1] if colour == COLOURS[0] else COLOURS[0]


def canary_replicas(release, weight: int) -> int:
    """The canary's share of the release's replicas, at least one pod."""
    return max(1, math.ceil(release.replicas * weight / 100))


def render_canary(
    release, environment, deployment_id=None, *, weight: int, progress_deadline_seconds: int
) -> list[dict]:
    """The canary beside the stable objects: its own ConfigMap, Deployment and Service, and a second
    Ingress that ingress-nginx reads as a canary taking `weight` percent of the host's traffic."""
    base = render(release, environment, deployment_id, progress_deadline_seconds=progress_deadline_seconds)
    labels = {TRACK: "canary"}
    objects = []
    for obj in base:
        if obj["kind"] in ("HorizontalPodAutoscaler", "HTTPRoute"):
            continue  # the canary's size follows the step, not the load; weights are ingress-nginx's here
        obj = _renamed(obj, canary_name(release), labels)
        if obj["kind"] == "Deployment":
            obj["spec"]["replicas"] = canary_replicas(release, weight)
        if obj["kind"] == "Ingress":
            obj["metadata"]["annotations"].update({CANARY_ANNOTATION: "true", CANARY_WEIGHT_ANNOTATION: str(weight)})
        objects.append(obj)
    return objects


def render_colour(
    release, environment, deployment_id=None, *, colour: str, progress_deadline_seconds: int, idle: bool = False
) -> list[dict]:
    """One colour's objects, and the Service and Ingress (named after the app) that send traffic to it.
    `idle` renders the colour scaled to zero, without its autoscaler."""
    if colour not in COLOURS:
        raise ValueError(f"Unknown colour {colour!r}")
    base = render(release, environment, deployment_id, progress_deadline_seconds=progress_deadline_seconds)
    objects = []
    for obj in base:
        if obj["kind"] in TRAFFIC_KINDS:
            obj = copy.deepcopy(obj)
            if obj["kind"] == "Service":
                obj["spec"]["selector"] = {**selector(release), COLOUR: colour}
        elif idle and obj["kind"] == "HorizontalPodAutoscaler":
            continue
        else:
            obj = _renamed(obj, colour_name(release, colour), {COLOUR: colour})
            if idle and obj["kind"] == "Deployment":
                obj["spec"]["replicas"] = 0
        objects.append(obj)
    return objects


def _renamed(obj: dict, name: str, extra_labels: dict) -> dict:
    """A copy of a rolling object under another name, its pods (and selector) carrying extra labels."""
    obj = copy.deepcopy(obj)
    obj["metadata"]["name"] = f"{name}-env" if obj["kind"] == "ConfigMap" else name
    obj["metadata"]["labels"].update(extra_labels)
    spec = obj.get("spec") or {}
    if obj["kind"] == "Deployment":
        spec["selector"]["matchLabels"].update(extra_labels)
        spec["template"]["metadata"]["labels"].update(extra_labels)
        for container in spec["template"]["spec"]["containers"]:
            container["envFrom"] = [{"configMapRef": {"name": f"{name}-env"}}]
    elif obj["kind"] == "HorizontalPodAutoscaler":
        spec["scaleTargetRef"]["name"] = name
    elif obj["kind"] == "Service":
        spec["selector"] = {**spec["selector"], **extra_labels}
    elif obj["kind"] == "Ingress":
        for rule in spec["rules"]:
            for path in rule["http"]["paths"]:
                path["backend"]["service"]["name"] = name
    return obj
