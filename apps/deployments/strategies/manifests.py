"""Kubernetes objects of a canary step or a blue-green colour: pure and deterministic.

They are built from the rolling objects of apps/deployments/manifests.py and renamed, so the pod
spec of a canary or a colour is exactly the one the release would roll out natively.
"""

import copy
import math
import re

from ..manifests import LABEL, name_of, render, selector

TRACK = f"{LABEL}/track"
COLOUR = f"{LABEL}/colour"
COLOURS = ("blue", "green")
TRAFFIC_KINDS = ("Service", "Ingress", "HTTPRoute")
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_HEADER_ANNOTATION = "nginx.ingress.kubernetes.io/canary-by-header"
CANARY_HEADER_VALUE_ANNOTATION = "nginx.ingress.kubernetes.io/canary-by-header-value"
CANARY_COOKIE_ANNOTATION = "nginx.ingress.kubernetes.io/canary-by-cookie"
# The cookie value that sends a request to the canary (ingress-nginx's "always"; "never" keeps it off).
COOKIE_VALUE = "always"


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
    release,
    environment,
    deployment_id=None,
    *,
    weight: int,
    progress_deadline_seconds: int,
    match_header: dict | None = None,
    match_cookie: str = "",
) -> list[dict]:
    """The canary beside the stable objects: its own ConfigMap, Deployment and Service, and its share of
    the route's traffic: `weight` percent, and every request carrying `match_header` or the cookie
    `match_cookie` set to "always". On ingress-nginx that is a second Ingress read as a canary; on the
    Gateway API it is the route's own HTTPRoute with a rule for the matches before a weighted one."""
    base = render(release, environment, deployment_id, progress_deadline_seconds=progress_deadline_seconds)
    labels = {TRACK: "canary"}
    objects = []
    for obj in base:
        if obj["kind"] == "HorizontalPodAutoscaler":
            continue  # the canary's size follows the step, not the load
        if obj["kind"] in ("Ingress", "HTTPRoute") and not _serves(obj, name_of(release)):
            continue  # the route is switched to a maintenance page or a fallback: the canary takes none of it
        if obj["kind"] == "HTTPRoute":
            objects.append(canary_http_route(obj, canary_name(release), weight, match_header, match_cookie))
            continue
        obj = _renamed(obj, canary_name(release), labels)
        if obj["kind"] == "Deployment":
            obj["spec"]["replicas"] = canary_replicas(release, weight)
        if obj["kind"] == "Ingress":
            obj["metadata"]["annotations"].update(_nginx_canary(weight, match_header, match_cookie))
        objects.append(obj)
    return objects


def _serves(route: dict, service: str) -> bool:
    """Whether a rendered Ingress or HTTPRoute sends its traffic to `service`."""
    if route["kind"] == "HTTPRoute":
        return all(ref["name"] == service for rule in route["spec"]["rules"] for ref in rule["backendRefs"])
    paths = [path for rule in route["spec"]["rules"] for path in rule["http"]["paths"]]
    return all(path["backend"]["service"]["name"] == service for path in paths)


def _nginx_canary(weight: int, header: dict | None, cookie: str) -> dict:
    """ingress-nginx's canary annotations: the header first, then the cookie, then the weight."""
    found = {CANARY_ANNOTATION: "true", CANARY_WEIGHT_ANNOTATION: str(weight)}
    if header:
        found[CANARY_HEADER_ANNOTATION] = header["name"]
        found[CANARY_HEADER_VALUE_ANNOTATION] = header["value"]
    if cookie:
        found[CANARY_COOKIE_ANNOTATION] = cookie
    return found


def canary_http_route(route: dict, canary: str, weight: int, header: dict | None, cookie: str) -> dict:
    """The route's HTTPRoute sending to the `canary` Service too: first a rule whose matches carry the
    header (or the cookie, as a regular expression on the Cookie header), then the route's own rule
    with the Service and the canary weighted. Applying the route's plain HTTPRoute takes both away
    (the rules list is atomic, so a server-side apply replaces it whole)."""
    route = copy.deepcopy(route)
    [rule] = route["spec"]["rules"]  # the traffic renderer makes one rule per route
    [stable] = rule["backendRefs"]
    to_canary = {**stable, "name": canary}
    rules = []
    headers = []
    if header:
        headers.append({"type": "Exact", "name": header["name"], "value": header["value"]})
    if cookie:
        headers.append({"type": "RegularExpression", "name": "Cookie", "value": cookie_pattern(cookie)})
    if headers:
        matches = [{**match, "headers": [found]} for match in rule["matches"] for found in headers]
        rules.append({**rule, "matches": matches, "backendRefs": [to_canary]})
    rules.append({**rule, "backendRefs": [{**stable, "weight": 100 - weight}, {**to_canary, "weight": weight}]})
    route["spec"]["rules"] = rules
    return route


def cookie_pattern(cookie: str) -> str:
    """A regular expression on the Cookie header that finds `cookie` set to "always" among the others."""
    return rf"(^|;\s*){re.escape(cookie)}={COOKIE_VALUE}(;|$)"


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
