"""What the API server fills in (defaults) and refuses (422 Invalid) for each kind.

Defaults matter beyond looks: they are applied on every write, so a re-applied manifest that
leaves a field out produces exactly the stored object, and a no-op apply stays a no-op.
Defaulting builds new dicts and never edits the (possibly shared) ones it was given.
"""

import base64
import ipaddress
import json
import re

from . import crds, quantity
from .errors import invalid
from .kinds import ResourceType
from .matching import labels_match, selector_requirements

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL_KINDS = {"Namespace", "Service"}
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def image_tag(image: str) -> str:
    """The tag of an image reference (`latest` when none is given, the digest when pinned by digest)."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


# --- defaults ---------------------------------------------------------------------------------


def _container(container: dict) -> dict:
    pull = "Always" if image_tag(container.get("image", "")) == "latest" else "IfNotPresent"
    result = {
        "imagePullPolicy": pull,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "resources": {},
        **container,
    }
    if container.get("ports"):
        result["ports"] = [{"protocol": "TCP", **port} for port in container["ports"]]
    return result


def _pod_spec(spec: dict) -> dict:
    result = {
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        **spec,
    }
    result["containers"] = [_container(c) for c in spec.get("containers") or []]
    if spec.get("initContainers"):
        result["initContainers"] = [_container(c) for c in spec["initContainers"]]
    return result


def _template(template: dict) -> dict:
    return {**template, "metadata": template.get("metadata") or {}, "spec": _pod_spec(template.get("spec") or {})}


def _deployment(obj: dict) -> None:
    spec = {"replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, **(obj.get("spec") or {})}
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        rolling = {"maxSurge": "25%", "maxUnavailable": "25%", **(strategy.get("rollingUpdate") or {})}
        strategy = {**strategy, "type": "RollingUpdate", "rollingUpdate": rolling}
    spec["strategy"] = strategy
    spec["template"] = _template(spec.get("template") or {})
    obj["spec"] = spec


def _replica_set(obj: dict) -> None:
    spec = {"replicas": 1, **(obj.get("spec") or {})}
    spec["template"] = _template(spec.get("template") or {})
    obj["spec"] = spec


def _stateful_set(obj: dict) -> None:
    spec = {
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        **(obj.get("spec") or {}),
    }
    spec["template"] = _template(spec.get("template") or {})
    obj["spec"] = spec


def _daemon_set(obj: dict) -> None:
    spec = {"revisionHistoryLimit": 10, **(obj.get("spec") or {})}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        rolling = {"maxUnavailable": 1, "maxSurge": 0, **(strategy.get("rollingUpdate") or {})}
        strategy = {**strategy, "type": "RollingUpdate", "rollingUpdate": rolling}
    spec["updateStrategy"] = strategy
    spec["template"] = _template(spec.get("template") or {})
    obj["spec"] = spec


def _binding(obj: dict) -> None:
    """Subjects that are users or groups belong to the RBAC API group; a service account's is the core
    group, "", which the API server leaves out of what it returns (the field is omitempty)."""
    subjects = []
    for subject in obj.get("subjects") or []:
        if subject.get("kind") in ("User", "Group"):
            subject = {"apiGroup": "rbac.authorization.k8s.io", **subject}
        elif subject.get("apiGroup") == "":
            subject = {k: v for k, v in subject.items() if k != "apiGroup"}
        subjects.append(subject)
    if subjects:
        obj["subjects"] = subjects


def _pod(obj: dict) -> None:
    spec = _pod_spec(obj.get("spec") or {})
    containers = []
    for container in spec["containers"]:
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        if any(name not in requests for name in limits):
            container = {**container, "resources": {**resources, "requests": {**limits, **requests}}}
        containers.append(container)
    obj["spec"] = {**spec, "containers": containers}


def _service(obj: dict) -> None:
    spec = {"type": "ClusterIP", "sessionAffinity": "None", **(obj.get("spec") or {})}
    if spec.get("ports"):
        spec["ports"] = [{"protocol": "TCP", "targetPort": port.get("port"), **port} for port in spec["ports"]]
    obj["spec"] = spec


def _secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    if obj.get("stringData"):
        data = dict(obj.get("data") or {})
        for key, value in obj["stringData"].items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    obj.pop("stringData", None)


def _namespace(obj: dict) -> None:
    name = obj["metadata"]["name"]
    labels = obj["metadata"].get("labels") or {}
    if labels.get("kubernetes.io/metadata.name") != name:
        obj["metadata"] = {**obj["metadata"], "labels": {**labels, "kubernetes.io/metadata.name": name}}
    obj["spec"] = {"finalizers": ["kubernetes"], **(obj.get("spec") or {})}


def _hpa(obj: dict) -> None:
    obj["spec"] = {"minReplicas": 1, **(obj.get("spec") or {})}


def _network_policy(obj: dict) -> None:
    spec = dict(obj.get("spec") or {})
    if "policyTypes" not in spec:
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    spec.setdefault("podSelector", {})
    obj["spec"] = spec


def _limit_range(obj: dict) -> None:
    """As the API server stores them: a missing default request is the default limit, a missing default
    limit is the maximum."""
    limits = []
    for item in (obj.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            default = {**(item.get("max") or {}), **(item.get("default") or {})}
            item = {**item, "default": default, "defaultRequest": {**default, **(item.get("defaultRequest") or {})}}
            item = {k: v for k, v in item.items() if v != {} or k not in ("default", "defaultRequest")}
        limits.append(item)
    obj["spec"] = {**(obj.get("spec") or {}), "limits": limits}


def _job(obj: dict) -> None:
    obj["spec"] = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "suspend": False, **(obj.get("spec") or {})}


def _cron_job(obj: dict) -> None:
    """The API server's CronJob defaults, so re-applying the portal's manifest stays a no-op."""
    obj["spec"] = {
        "concurrencyPolicy": "Allow",
        "suspend": False,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
        **(obj.get("spec") or {}),
    }


_DEFAULTS = {
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "StatefulSet": _stateful_set,
    "DaemonSet": _daemon_set,
    "RoleBinding": _binding,
    "ClusterRoleBinding": _binding,
    "Pod": _pod,
    "Service": _service,
    "Secret": _secret,
    "Namespace": _namespace,
    "HorizontalPodAutoscaler": _hpa,
    "NetworkPolicy": _network_policy,
    "LimitRange": _limit_range,
    "Job": _job,
    "CronJob": _cron_job,
}


def apply_defaults(rt: ResourceType, obj: dict) -> dict:
    """obj (a fresh top-level dict the caller owns) with the kind's defaults filled in."""
    fill = _DEFAULTS.get(rt.kind)
    if fill:
        fill(obj)
    custom = crds.schema_of(rt.api_version, rt.kind)
    if custom is not None:
        crds.apply_defaults(obj, custom)
    return obj


# --- validation -------------------------------------------------------------------------------


def _value(value) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float)) else repr(value)


class _Causes(list):
    def required(self, field: str):
        self.append(("FieldValueRequired", field, "Required value"))

    def bad(self, field: str, value, why: str):
        self.append(("FieldValueInvalid", field, f"Invalid value: {_value(value)}: {why}"))

    def required_because(self, field: str, why: str):
        self.append(("FieldValueRequired", field, f"Required value: {why}"))

    def not_supported(self, field: str, value, supported):
        listed = ", ".join(json.dumps(v) for v in supported)
        self.append(
            ("FieldValueNotSupported", field, f"Unsupported value: {_value(value)}: supported values: {listed}")
        )


def _name(rt: ResourceType, name: str, causes: _Causes) -> None:
    if rt.kind in _DNS_LABEL_KINDS:
        if not _LABEL.match(name) or len(name) > 63:
            causes.bad(
                "metadata.name",
                name,
                "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character",
            )
    elif not _SUBDOMAIN.match(name) or len(name) > 253:
        causes.bad(
            "metadata.name",
            name,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
        )


def _labels(labels: dict, field: str, causes: _Causes) -> None:
    for value in (labels or {}).values():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.bad(
                field,
                value,
                "a valid label must be an empty string or consist of alphanumeric "
                "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            )


def _containers(spec: dict, field: str, causes: _Causes) -> None:
    containers = spec.get("containers") or []
    if not containers:
        causes.required(f"{field}.containers")
    for i, container in enumerate(containers):
        where = f"{field}.containers[{i}]"
        if not container.get("name"):
            causes.required(f"{where}.name")
        elif not _LABEL.match(container["name"]):
            causes.bad(
                f"{where}.name",
                container["name"],
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
            )
        if not container.get("image"):
            causes.required(f"{where}.image")
        for section in ("limits", "requests"):
            for resource, amount in ((container.get("resources") or {}).get(section) or {}).items():
                try:
                    quantity.parse(amount)
                except ValueError as error:
                    causes.bad(f"{where}.resources.{section}[{resource}]", amount, str(error))


def _workload(obj: dict, old: dict | None, causes: _Causes, kind: str) -> None:
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        causes.required("spec.selector")
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.bad("spec.selector", selector, f"empty selector is invalid for {kind.lower()}")
    else:
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not labels_match(selector_requirements(selector), labels):
            causes.bad("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")
        if old is not None and old.get("spec", {}).get("selector") != selector:
            causes.bad("spec.selector", selector, "field is immutable")
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or replicas < 0:
        causes.bad("spec.replicas", replicas, "must be greater than or equal to 0")
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    if str(rolling.get("maxSurge", "")) in ("0", "0%") and str(rolling.get("maxUnavailable", "")) in ("0", "0%"):
        causes.bad(
            "spec.strategy.rollingUpdate.maxUnavailable", rolling["maxUnavailable"], "may not be 0 when `maxSurge` is 0"
        )
    template = spec.get("template") or {}
    _labels((template.get("metadata") or {}).get("labels"), "spec.template.metadata.labels", causes)
    _containers(template.get("spec") or {}, "spec.template.spec", causes)


def _service_spec(obj: dict, causes: _Causes) -> None:
    spec = obj.get("spec") or {}
    if spec.get("type") not in SERVICE_TYPES:
        supported = ", ".join(json.dumps(t) for t in SERVICE_TYPES)
        why = f"Unsupported value: {_value(spec.get('type'))}: supported values: {supported}"
        causes.append(("FieldValueNotSupported", "spec.type", why))
    if spec.get("type") != "ExternalName" and not spec.get("ports"):
        causes.required("spec.ports")
    for i, port in enumerate(spec.get("ports") or []):
        if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
            causes.bad(f"spec.ports[{i}].port", port.get("port"), "must be between 1 and 65535, inclusive")


def _hpa_spec(obj: dict, causes: _Causes) -> None:
    spec = obj.get("spec") or {}
    target = spec.get("scaleTargetRef") or {}
    for field in ("kind", "name"):
        if not target.get(field):
            causes.required(f"spec.scaleTargetRef.{field}")
    maximum, minimum = spec.get("maxReplicas"), spec.get("minReplicas", 1)
    if not isinstance(maximum, int) or maximum < 1:
        causes.bad("spec.maxReplicas", maximum, "must be greater than or equal to 1")
    elif isinstance(minimum, int) and minimum > maximum:
        causes.bad("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`")


def _quota_spec(obj: dict, causes: _Causes) -> None:
    for resource, amount in ((obj.get("spec") or {}).get("hard") or {}).items():
        try:
            quantity.parse(amount)
        except ValueError as error:
            causes.bad(f"spec.hard[{resource}]", amount, str(error))


def _batch_spec(obj: dict, causes: _Causes, kind: str) -> None:
    """A CronJob needs a schedule and a job template; a Job (or the template) needs a pod template."""
    spec, field = obj.get("spec") or {}, "spec"
    if kind == "CronJob":
        if not spec.get("schedule"):
            causes.required("spec.schedule")
        spec, field = (spec.get("jobTemplate") or {}).get("spec") or {}, "spec.jobTemplate.spec"
    _containers((spec.get("template") or {}).get("spec") or {}, f"{field}.template.spec", causes)


_PERCENT = re.compile(r"^[0-9]+%$")
RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("Group", "ServiceAccount", "User")
PROTOCOLS = ("SCTP", "TCP", "UDP")


def _int_or_percent(value, field: str, causes: _Causes) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        causes.bad(field, value, "must be an integer or percentage (e.g '5%')")
    elif isinstance(value, int) and value < 0:
        causes.bad(field, value, "must be greater than or equal to 0")
    elif isinstance(value, str) and not _PERCENT.match(value):
        causes.bad(field, value, "a valid percent string must be a numeric string followed by an ending '%'")


def _pdb_spec(obj: dict, causes: _Causes) -> None:
    """policy/v1 PodDisruptionBudget: at most one of minAvailable and maxUnavailable, each an int or a %."""
    spec = obj.get("spec") or {}
    if "minAvailable" in spec and "maxUnavailable" in spec:
        causes.bad("spec", spec, "minAvailable and maxUnavailable cannot be both set")
    for key in ("minAvailable", "maxUnavailable"):
        if key in spec:
            _int_or_percent(spec[key], f"spec.{key}", causes)
    _labels(((spec.get("selector") or {}).get("matchLabels")), "spec.selector.matchLabels", causes)


def _peers(peers: list, field: str, causes: _Causes) -> None:
    for i, peer in enumerate(peers or []):
        where = f"{field}[{i}]"
        selectors = [key for key in ("podSelector", "namespaceSelector") if key in peer]
        if "ipBlock" in peer:
            if selectors:
                causes.append(
                    ("FieldValueForbidden", where, "Forbidden: may not specify both ipBlock and another peer")
                )
            cidr = (peer["ipBlock"] or {}).get("cidr")
            if not cidr:
                causes.required(f"{where}.ipBlock.cidr")
            else:
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    causes.bad(
                        f"{where}.ipBlock.cidr", cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
                    )
        elif not selectors:
            causes.required_because(where, "must specify a peer")


def _ports(ports: list, field: str, causes: _Causes) -> None:
    for i, port in enumerate(ports or []):
        protocol = port.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            causes.not_supported(f"{field}[{i}].protocol", protocol, PROTOCOLS)
        number = port.get("port")
        if isinstance(number, int) and not 0 < number < 65536:
            causes.bad(f"{field}[{i}].port", number, "must be between 1 and 65535, inclusive")


def _network_policy_spec(obj: dict, causes: _Causes) -> None:
    """networking.k8s.io/v1 NetworkPolicy: known policy types, peers that name something, valid ports."""
    spec = obj.get("spec") or {}
    types = spec.get("policyTypes") or []
    for i, kind in enumerate(types):
        if kind not in ("Egress", "Ingress"):
            causes.not_supported(f"spec.policyTypes[{i}]", kind, ("Egress", "Ingress"))
    if len(types) > 2:
        causes.bad("spec.policyTypes", types, "may not have more than 2 policyTypes")
    for i, rule in enumerate(spec.get("ingress") or []):
        _peers(rule.get("from"), f"spec.ingress[{i}].from", causes)
        _ports(rule.get("ports"), f"spec.ingress[{i}].ports", causes)
    for i, rule in enumerate(spec.get("egress") or []):
        _peers(rule.get("to"), f"spec.egress[{i}].to", causes)
        _ports(rule.get("ports"), f"spec.egress[{i}].ports", causes)


def _rules(obj: dict, causes: _Causes, namespaced: bool) -> None:
    """Role and ClusterRole rules, as the API server's ValidatePolicyRule judges them."""
    if not namespaced and obj.get("aggregationRule"):
        return  # the controller fills the rules in
    for i, rule in enumerate(obj.get("rules") or []):
        where = f"rules[{i}]"
        if not rule.get("verbs"):
            causes.required_because(f"{where}.verbs", "verbs must contain at least one value")
        if rule.get("nonResourceURLs"):
            if namespaced:
                causes.bad(
                    f"{where}.nonResourceURLs",
                    rule["nonResourceURLs"],
                    "namespaced rules cannot apply to non-resource URLs",
                )
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                causes.bad(
                    f"{where}.nonResourceURLs",
                    rule["nonResourceURLs"],
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            continue
        if not rule.get("apiGroups"):
            causes.required_because(f"{where}.apiGroups", "resource rules must supply at least one api group")
        if not rule.get("resources"):
            causes.required_because(f"{where}.resources", "resource rules must supply at least one resource")


def _binding_spec(obj: dict, old: dict | None, causes: _Causes, namespaced: bool) -> None:
    """RoleBinding and ClusterRoleBinding: a roleRef that names a role (and never changes), named subjects."""
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), (RBAC_GROUP,))
    kinds = ("ClusterRole", "Role") if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        causes.not_supported("roleRef.kind", ref.get("kind", ""), kinds)
    if not ref.get("name"):
        causes.required("roleRef.name")
    if old is not None and (old.get("roleRef") or {}) != ref:
        causes.bad("roleRef", ref, "cannot change roleRef")
    for i, subject in enumerate(obj.get("subjects") or []):
        where = f"subjects[{i}]"
        if subject.get("kind") not in SUBJECT_KINDS:
            causes.not_supported(f"{where}.kind", subject.get("kind", ""), SUBJECT_KINDS)
        if not subject.get("name"):
            causes.required(f"{where}.name")
        if subject.get("kind") == "ServiceAccount" and not namespaced and not subject.get("namespace"):
            causes.required(f"{where}.namespace")


def validate(rt: ResourceType, obj: dict, old: dict | None) -> None:
    """Raise 422 Invalid listing every problem, as the API server does."""
    causes = _Causes()
    metadata = obj["metadata"]
    name = metadata.get("name") or ""
    if not name:
        causes.append(("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"))
    else:
        _name(rt, name, causes)
    _labels(metadata.get("labels"), "metadata.labels", causes)
    if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _workload(obj, old, causes, rt.kind)
    elif rt.kind == "Pod":
        _containers(obj.get("spec") or {}, "spec", causes)
    elif rt.kind == "Service":
        _service_spec(obj, causes)
    elif rt.kind == "HorizontalPodAutoscaler":
        _hpa_spec(obj, causes)
    elif rt.kind == "ResourceQuota":
        _quota_spec(obj, causes)
    elif rt.kind in ("CronJob", "Job"):
        _batch_spec(obj, causes, rt.kind)
    elif rt.kind == "PodDisruptionBudget":
        _pdb_spec(obj, causes)
    elif rt.kind == "NetworkPolicy":
        _network_policy_spec(obj, causes)
    elif rt.kind in ("Role", "ClusterRole"):
        _rules(obj, causes, rt.namespaced)
    elif rt.kind in ("RoleBinding", "ClusterRoleBinding"):
        _binding_spec(obj, old, causes, rt.namespaced)
    if crds.is_custom(rt):
        causes.extend(crds.causes(rt, obj))
    if causes:
        raise invalid(rt, name, list(causes))
