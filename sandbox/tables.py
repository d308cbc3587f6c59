"""`meta.k8s.io/v1` Tables: the server-side printing kubectl asks for (`Accept: ...;as=Table`).

kubectl renders `get` output from these rows, so the columns follow kubectl's own for each kind
(NAME READY UP-TO-DATE AVAILABLE AGE for deployments, and so on); columns with priority 1 show
with `-o wide`.
"""

import calendar
import time

from .controllers.autoscaler import cpu_target
from .matching import selector_string


def human_duration(seconds: float) -> str:
    """kubectl's AGE format: 45s, 3m20s, 2h, 5d3h."""
    seconds = int(seconds)
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    return f"{hours // 24}d"


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    return human_duration(time.time() - calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")))


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def _containers(obj: dict) -> list:
    spec = obj.get("spec") or {}
    return ((spec.get("template") or {}).get("spec") or spec).get("containers") or []


def _pod_status(pod: dict) -> str:
    status = _status(pod)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in status.get("containerStatuses") or ():
        state = container.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            reason = state["terminated"].get("reason") or f"ExitCode:{state['terminated'].get('exitCode')}"
    if "deletionTimestamp" in pod["metadata"]:
        reason = "Terminating"
    return reason


def _pod_ready(pod: dict) -> str:
    statuses = _status(pod).get("containerStatuses") or ()
    return f"{sum(1 for c in statuses if c.get('ready'))}/{len(pod['spec'].get('containers') or ())}"


def _ports(service: dict) -> str:
    ports = (service.get("spec") or {}).get("ports") or ()
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _hpa_targets(hpa: dict) -> str:
    current = next(
        (
            m["resource"]["current"].get("averageUtilization")
            for m in _status(hpa).get("currentMetrics") or ()
            if m.get("type") == "Resource"
        ),
        None,
    )
    return f"cpu: {'<unknown>' if current is None else f'{current}%'}/{cpu_target(hpa['spec'])}%"


def _quota(quota: dict, limits: bool) -> str:
    hard, used = _status(quota).get("hard") or {}, _status(quota).get("used") or {}
    keys = [k for k in sorted(hard) if k.startswith("limits.") == limits]
    return ", ".join(f"{k}: {used.get(k, '0')}/{hard[k]}" for k in keys)


def _data_count(obj: dict) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _job_status(job: dict) -> str:
    conditions = {c.get("type") for c in _status(job).get("conditions") or () if c.get("status") == "True"}
    return "Complete" if "Complete" in conditions else "Failed" if "Failed" in conditions else "Running"


_NAME = ("Name", "string", "name", 0, lambda o: o["metadata"]["name"])
_AGE = ("Age", "string", "", 0, lambda o: _age(o["metadata"].get("creationTimestamp")))
_IMAGES = [
    ("Containers", "string", "", 1, lambda o: ",".join(c["name"] for c in _containers(o))),
    ("Images", "string", "", 1, lambda o: ",".join(c.get("image", "") for c in _containers(o))),
    ("Selector", "string", "", 1, lambda o: selector_string(o["spec"].get("selector"))),
]

COLUMNS = {
    "Deployment": [
        _NAME,
        ("Ready", "string", "", 0, lambda o: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 0)}"),
        ("Up-to-date", "integer", "", 0, lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", "", 0, lambda o: _status(o).get("availableReplicas", 0)),
        _AGE,
        *_IMAGES,
    ],
    "ReplicaSet": [
        _NAME,
        ("Desired", "integer", "", 0, lambda o: o["spec"].get("replicas", 0)),
        ("Current", "integer", "", 0, lambda o: _status(o).get("replicas", 0)),
        ("Ready", "integer", "", 0, lambda o: _status(o).get("readyReplicas", 0)),
        _AGE,
        *_IMAGES,
    ],
    "Pod": [
        _NAME,
        ("Ready", "string", "", 0, _pod_ready),
        ("Status", "string", "", 0, _pod_status),
        (
            "Restarts",
            "string",
            "",
            0,
            lambda o: str(sum(c.get("restartCount", 0) for c in _status(o).get("containerStatuses") or ())),
        ),
        _AGE,
        ("IP", "string", "", 1, lambda o: _status(o).get("podIP") or "<none>"),
        ("Node", "string", "", 1, lambda o: o["spec"].get("nodeName") or "<none>"),
    ],
    "Service": [
        _NAME,
        ("Type", "string", "", 0, lambda o: o["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", "", 0, lambda o: o["spec"].get("clusterIP") or "<none>"),
        ("External-IP", "string", "", 0, lambda o: "<none>"),
        ("Port(s)", "string", "", 0, _ports),
        _AGE,
        (
            "Selector",
            "string",
            "",
            1,
            lambda o: ",".join(f"{k}={v}" for k, v in (o["spec"].get("selector") or {}).items()) or "<none>",
        ),
    ],
    "Namespace": [_NAME, ("Status", "string", "", 0, lambda o: _status(o).get("phase", "Active")), _AGE],
    "ConfigMap": [_NAME, ("Data", "integer", "", 0, _data_count), _AGE],
    "Secret": [
        _NAME,
        ("Type", "string", "", 0, lambda o: o.get("type", "Opaque")),
        ("Data", "integer", "", 0, _data_count),
        _AGE,
    ],
    "Event": [
        ("Last Seen", "string", "", 0, lambda o: _age(o.get("lastTimestamp"))),
        ("Type", "string", "", 0, lambda o: o.get("type", "")),
        ("Reason", "string", "", 0, lambda o: o.get("reason", "")),
        (
            "Object",
            "string",
            "",
            0,
            lambda o: f"{o['involvedObject'].get('kind', '').lower()}/{o['involvedObject'].get('name', '')}",
        ),
        ("Message", "string", "", 0, lambda o: o.get("message", "")),
        ("Name", "string", "name", 1, lambda o: o["metadata"]["name"]),
    ],
    "HorizontalPodAutoscaler": [
        _NAME,
        ("Reference", "string", "", 0, lambda o: "{kind}/{name}".format(**o["spec"]["scaleTargetRef"])),
        ("Targets", "string", "", 0, _hpa_targets),
        ("MinPods", "string", "", 0, lambda o: str(o["spec"].get("minReplicas", 1))),
        ("MaxPods", "integer", "", 0, lambda o: o["spec"]["maxReplicas"]),
        ("Replicas", "integer", "", 0, lambda o: _status(o).get("currentReplicas", 0)),
        _AGE,
    ],
    "ResourceQuota": [
        _NAME,
        _AGE,
        ("Request", "string", "", 0, lambda o: _quota(o, False)),
        ("Limit", "string", "", 0, lambda o: _quota(o, True)),
    ],
    "Ingress": [
        _NAME,
        ("Class", "string", "", 0, lambda o: o["spec"].get("ingressClassName") or "<none>"),
        ("Hosts", "string", "", 0, lambda o: ",".join(r.get("host", "*") for r in o["spec"].get("rules") or ()) or "*"),
        ("Address", "string", "", 0, lambda o: ""),
        ("Ports", "string", "", 0, lambda o: "80, 443" if o["spec"].get("tls") else "80"),
        _AGE,
    ],
    "CronJob": [
        _NAME,
        ("Schedule", "string", "", 0, lambda o: o["spec"].get("schedule", "")),
        ("Timezone", "string", "", 0, lambda o: o["spec"].get("timeZone") or "<none>"),
        ("Suspend", "boolean", "", 0, lambda o: bool(o["spec"].get("suspend"))),
        ("Active", "integer", "", 0, lambda o: len(_status(o).get("active") or ())),
        (
            "Last Schedule",
            "string",
            "",
            0,
            lambda o: _age(_status(o).get("lastScheduleTime")) if _status(o).get("lastScheduleTime") else "<none>",
        ),
        _AGE,
    ],
    "Job": [
        _NAME,
        ("Status", "string", "", 0, _job_status),
        (
            "Completions",
            "string",
            "",
            0,
            lambda o: f"{_status(o).get('succeeded', 0)}/{o['spec'].get('completions', 1)}",
        ),
        _AGE,
    ],
    "NetworkPolicy": [
        _NAME,
        ("Pod-Selector", "string", "", 0, lambda o: selector_string(o["spec"].get("podSelector")) or "<none>"),
        _AGE,
    ],
}


def table(
    kind: str,
    objects: list[dict],
    *,
    resource_version: str,
    include_object: str = "Metadata",
    continue_token: str | None = None,
) -> dict:
    columns = COLUMNS.get(kind, [_NAME, _AGE])
    rows = []
    for obj in objects:
        row = {"cells": [cell(obj) for _, _, _, _, cell in columns]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    metadata = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [
            {"name": name, "type": type_, "format": format_, "description": "", "priority": priority}
            for name, type_, format_, priority, _ in columns
        ],
        "rows": rows,
    }
