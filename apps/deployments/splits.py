"""The canary traffic split a cluster serves now, read from it: what the Traffic tab shows.

A deployment row's step says which rule the portal applied (strategies/plan.py canary_rule); anyone with
kubectl may have changed it since, so a page that says how traffic is split reads the cluster. Where
the rule lives depends on the cluster's traffic renderer (strategies/manifests.py render_canary):

- ingress-nginx: the canary's own Ingress, `<application>-canary`, and its `canary-weight` (out of
  `canary-weight-total`), `canary-by-header`/`canary-by-header-value` and `canary-by-cookie` annotations;
- the Gateway API: the application's HTTPRoutes, whose rules send to the `<application>-canary` Service,
  weighted in `backendRefs`, or matched by a header (or the cookie, as a regular expression on `Cookie`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from apps.clusters.connection import kube_for
from apps.clusters.kube import KubeClient, KubeError
from apps.clusters.models import Placement

from .manifests import LABEL
from .pods import READ_OPTIONS
from .strategies.manifests import (
    CANARY_ANNOTATION,
    CANARY_COOKIE_ANNOTATION,
    CANARY_HEADER_ANNOTATION,
    CANARY_HEADER_VALUE_ANNOTATION,
    CANARY_WEIGHT_ANNOTATION,
    COOKIE_VALUE,
    cookie_pattern,
)

CANARY_WEIGHT_TOTAL_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight-total"
# ingress-nginx sends a request whose canary header is "always" to the canary when no value is named.
DEFAULT_HEADER_VALUE = "always"
HTTPROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")
# What cookie_pattern wraps around the escaped cookie name.
COOKIE_PREFIX, COOKIE_SUFFIX = r"(^|;\s*)", f"={COOKIE_VALUE}(;|$)"


@dataclass
class LiveSplit:
    """The canary rule one environment's cluster serves, as canary_rule shapes it (`weight`, `header`,
    `cookie`), or None where no canary takes traffic; `error` is set instead when the cluster could not
    be read. `read_at` says when the answer was read."""

    cluster: str
    read_at: datetime
    rule: dict | None = None
    error: str = ""


def live_splits(application, environments) -> dict[int, LiveSplit]:
    """Environment id -> the canary split the cluster serves the application there, for each environment
    placed on a cluster (one never placed serves nothing and is left out). One query for the placements
    and one client per cluster; a cluster that fails a read answers its remaining environments with
    that error rather than timing out once per environment."""
    environments = list(environments)
    placements = Placement.objects.select_related("cluster").filter(environment__in=[e.pk for e in environments])
    cluster_of = {placement.environment_id: placement.cluster for placement in placements}
    by_cluster: dict[int, list] = defaultdict(list)
    for environment in environments:
        if environment.pk in cluster_of:
            by_cluster[cluster_of[environment.pk].pk].append(environment)
    answers: dict[int, LiveSplit] = {}
    for placed in by_cluster.values():
        cluster = cluster_of[placed[0].pk]
        try:
            with kube_for(cluster, **READ_OPTIONS) as kube:
                for environment in placed:
                    rule = _read(kube, cluster.traffic_renderer, application.name, environment.namespace)
                    answers[environment.pk] = LiveSplit(cluster.name, timezone.now(), rule)
        except KubeError as exc:
            failed = LiveSplit(cluster.name, timezone.now(), error=exc.message)
            for environment in placed:
                answers.setdefault(environment.pk, failed)
    return answers


def _read(kube: KubeClient, renderer: str, application: str, namespace: str) -> dict | None:
    canary = f"{application}-canary"  # strategies/manifests.py canary_name
    if renderer == "gateway_api":
        routes, _ = kube.list(*HTTPROUTE, namespace, label_selector=f"{LABEL}/application={application}")
        return next((rule for route in routes if (rule := _from_http_route(route, canary))), None)
    return _from_ingress(kube.get("networking.k8s.io/v1", "Ingress", canary, namespace))


def _from_ingress(ingress: dict | None) -> dict | None:
    """The rule of an Ingress ingress-nginx reads as a canary, or None when it is not one."""
    notes = ((ingress or {}).get("metadata") or {}).get("annotations") or {}
    if notes.get(CANARY_ANNOTATION) != "true":
        return None
    total = _number(notes.get(CANARY_WEIGHT_TOTAL_ANNOTATION)) or 100
    weight = min(100, round(100 * (_number(notes.get(CANARY_WEIGHT_ANNOTATION)) or 0) / total))
    header = notes.get(CANARY_HEADER_ANNOTATION)
    value = notes.get(CANARY_HEADER_VALUE_ANNOTATION) or DEFAULT_HEADER_VALUE
    return {
        "weight": weight,
        "header": {"name": header, "value": value} if header else None,
        "cookie": notes.get(CANARY_COOKIE_ANNOTATION) or None,
    }


def _from_http_route(route: dict, canary: str) -> dict | None:
    """The canary's share of an HTTPRoute: the weight of the rule that weighs the canary's Service
    against others, and the header or cookie of a rule that sends matched requests to it alone. None
    when no rule sends to the canary."""
    found: dict = {"weight": 0, "header": None, "cookie": None}
    sends = False
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if not any(ref.get("name") == canary for ref in refs):
            continue
        sends = True
        matched = [h for match in rule.get("matches") or [] for h in match.get("headers") or []]
        if matched and all(ref.get("name") == canary for ref in refs):
            for header in matched:
                _matched(found, header)
            continue
        total = sum(ref.get("weight", 1) for ref in refs)  # the Gateway API's default weight is 1
        share = sum(ref.get("weight", 1) for ref in refs if ref.get("name") == canary)
        found["weight"] = round(100 * share / total) if total else 0
    return found if sends else None


def _matched(found: dict, header: dict) -> None:
    """A header match of a rule sending to the canary: the portal's cookie pattern, else a header."""
    name, value = header.get("name", ""), header.get("value", "")
    if name.lower() == "cookie" and value.startswith(COOKIE_PREFIX) and value.endswith(COOKIE_SUFFIX):
        cookie = re.sub(r"\\(.)", r"\1", value[len(COOKIE_PREFIX) : -len(COOKIE_SUFFIX)])
        if cookie_pattern(cookie) == value:
            found["cookie"] = cookie
            return
    found["header"] = {"name": name, "value": value}


def _number(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
