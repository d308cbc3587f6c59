"""Admission for new objects: Pod Security (baseline), LimitRange defaults and bounds, then ResourceQuota.

Usage is computed from the objects in the store rather than from quota status, so a burst of pod
creations can never slip past a quota between two status updates. The quota controller uses the
same functions to publish `status.used`.
"""

from fractions import Fraction

from . import quantity
from .errors import forbidden
from .kinds import BY_KEY, LIMIT_RANGES, PODS, QUOTAS, ResourceType

COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
_ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
_LEGACY_COUNTS = {"services", "configmaps", "secrets", "resourcequotas"}
TERMINAL_PHASES = ("Succeeded", "Failed")


def count_key(rt: ResourceType) -> str:
    return f"count/{rt.key}"


def pod_usage(pod: dict) -> dict[str, Fraction]:
    usage = {"pods": Fraction(1)}
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            for resource, amount in (resources.get(section) or {}).items():
                key = f"{section}.{resource}"
                usage[key] = usage.get(key, Fraction(0)) + quantity.parse(amount)
    return usage


def _counts_toward(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES and "deletionTimestamp" not in pod["metadata"]


def namespace_usage(store, namespace: str, resources) -> dict[str, Fraction]:
    """Current usage in a namespace of each quota resource name in `resources`."""
    used: dict[str, Fraction] = {}
    wanted = set(resources)
    if wanted & {"pods", "cpu", "memory", *COMPUTE}:
        for pod in store.list(PODS, namespace):
            if _counts_toward(pod):
                for key, amount in pod_usage(pod).items():
                    used[key] = used.get(key, Fraction(0)) + amount
    result = {}
    for resource in wanted:
        if resource in _LEGACY_COUNTS:
            result[resource] = Fraction(store.count(BY_KEY[resource], namespace))
        elif resource.startswith("count/"):
            rt = BY_KEY.get(resource[len("count/") :])
            result[resource] = Fraction(store.count(rt, namespace) if rt else 0)
        else:
            result[resource] = used.get(_ALIASES.get(resource, resource), Fraction(0))
    return result


def _format(usage: dict[str, Fraction]) -> str:
    return ",".join(f"{key}={quantity.format_for(key, usage[key])}" for key in sorted(usage))


def _requested(rt: ResourceType, obj: dict) -> dict[str, Fraction]:
    requested = {count_key(rt): Fraction(1)}
    if rt.plural in _LEGACY_COUNTS and not rt.group:
        requested[rt.plural] = Fraction(1)
    if rt is PODS:
        usage = pod_usage(obj)
        requested.update(usage)
        for alias, key in _ALIASES.items():
            if key in usage:
                requested[alias] = usage[key]
    return requested


def check_quota(store, rt: ResourceType, obj: dict) -> None:
    """403 Forbidden when creating obj would take any ResourceQuota in its namespace over its hard limits."""
    namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
    quotas = store.list(QUOTAS, namespace)
    if not quotas:
        return
    requested = _requested(rt, obj)
    for quota in quotas:
        hard = {key: quantity.parse(value) for key, value in ((quota.get("spec") or {}).get("hard") or {}).items()}
        quota_name = quota["metadata"]["name"]
        if rt is PODS:
            _require_compute(rt, obj, hard, quota_name)
        tracked = [key for key in hard if key in requested]
        if not tracked:
            continue
        used = namespace_usage(store, namespace, tracked)
        over = [key for key in tracked if used[key] + requested[key] > hard[key]]
        if over:
            raise forbidden(
                rt,
                name,
                f"exceeded quota: {quota_name}, "
                f"requested: {_format({k: requested[k] for k in over})}, "
                f"used: {_format({k: used[k] for k in over})}, "
                f"limited: {_format({k: hard[k] for k in over})}",
            )


def _require_compute(rt, pod: dict, hard: dict, quota_name: str) -> None:
    missing = []
    for key in sorted(hard):
        section, _, resource = _ALIASES.get(key, key).partition(".")
        if section not in ("requests", "limits") or resource not in ("cpu", "memory"):
            continue
        names = [
            c.get("name", "")
            for c in pod["spec"].get("containers") or []
            if resource not in ((c.get("resources") or {}).get(section) or {})
        ]
        if names:
            missing.append(f"{key} for: {','.join(names)}")
    if missing:
        raise forbidden(rt, pod["metadata"]["name"], f"failed quota: {quota_name}: must specify " + "; ".join(missing))


def apply_limit_ranges(store, pod: dict) -> dict:
    """The pod with LimitRange container defaults filled in; 403 when a container breaks a min or max."""
    namespace = pod["metadata"].get("namespace", "")
    items = [
        item
        for limit_range in store.list(LIMIT_RANGES, namespace)
        for item in (limit_range.get("spec") or {}).get("limits") or []
        if item.get("type") == "Container"
    ]
    if not items:
        return pod
    containers = []
    for container in pod["spec"].get("containers") or []:
        resources = container.get("resources") or {}
        limits, requests = dict(resources.get("limits") or {}), dict(resources.get("requests") or {})
        for item in items:
            for resource, amount in (item.get("default") or {}).items():
                limits.setdefault(resource, amount)
            for resource, amount in (item.get("defaultRequest") or {}).items():
                requests.setdefault(resource, amount)
            _check_bounds(pod, container, item, limits, requests)
        new_resources = {**resources}
        if limits:
            new_resources["limits"] = limits
        if requests:
            new_resources["requests"] = requests
        containers.append({**container, "resources": new_resources})
    return {**pod, "spec": {**pod["spec"], "containers": containers}}


def _check_bounds(pod, container, item, limits, requests) -> None:
    for resource, bound in (item.get("max") or {}).items():
        if resource in limits and quantity.parse(limits[resource]) > quantity.parse(bound):
            raise forbidden(
                PODS,
                pod["metadata"]["name"],
                f"maximum {resource} usage per Container is {bound}, but limit is {limits[resource]}",
            )
    for resource, bound in (item.get("min") or {}).items():
        if resource in requests and quantity.parse(requests[resource]) < quantity.parse(bound):
            raise forbidden(
                PODS,
                pod["metadata"]["name"],
                f"minimum {resource} usage per Container is {bound}, but request is {requests[resource]}",
            )


# Pod Security admission at the baseline level (https://kubernetes.io/docs/concepts/security/pod-security-standards/):
# the checks a namespace labelled pod-security.kubernetes.io/enforce=baseline makes of each new pod. The
# restricted level's further checks are not made here; a namespace asking for it gets baseline's.
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


def check_pod_security(store, pod: dict) -> None:
    """403 Forbidden, naming every check the pod fails, when its namespace enforces baseline or restricted."""
    namespace = store.get(BY_KEY["namespaces"], "", pod["metadata"].get("namespace", ""))
    level = ((namespace or {}).get("metadata", {}).get("labels") or {}).get(POD_SECURITY_ENFORCE, "privileged")
    if level not in ("baseline", "restricted"):
        return
    spec = pod.get("spec") or {}
    failed = []
    hosts = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    if hosts:
        failed.append(f"host namespaces ({', '.join(hosts)})")
    host_paths = [f'"{volume.get("name")}"' for volume in spec.get("volumes") or () if "hostPath" in volume]
    if host_paths:
        failed.append(f"hostPath volumes (volume{'s' if len(host_paths) > 1 else ''} {', '.join(host_paths)})")
    containers = [
        container
        for key in ("initContainers", "containers", "ephemeralContainers")
        for container in spec.get(key) or ()
    ]
    privileged = [f'"{c["name"]}"' for c in containers if (c.get("securityContext") or {}).get("privileged")]
    if privileged:
        failed.append(
            f"privileged (container{'s' if len(privileged) > 1 else ''} {', '.join(privileged)} must not set securityContext.privileged=true)"
        )
    added = sorted(
        {
            capability
            for c in containers
            for capability in ((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or ()
            if capability not in _BASELINE_CAPABILITIES
        }
    )
    if added:
        failed.append(f"non-default capabilities (capabilities.add {', '.join(added)})")
    ports = sorted({str(p["hostPort"]) for c in containers for p in c.get("ports") or () if p.get("hostPort")})
    if ports:
        failed.append(f"hostPort (hostPorts {', '.join(ports)})")
    if failed:
        raise forbidden(PODS, pod["metadata"]["name"], f'violates PodSecurity "{level}:latest": {", ".join(failed)}')
