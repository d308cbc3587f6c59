"""The resource types the sandbox serves, in one table.

Discovery, routing, tables and persistence all read this table, so adding a kind is one line here
plus whatever defaults and controller behaviour it needs elsewhere.
"""

from dataclasses import dataclass

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    has_scale: bool = False
    # Kinds whose spec changes are counted in metadata.generation (controllers report observedGeneration).
    has_generation: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return self.group, self.version

    @property
    def key(self) -> str:
        """Store key: the plural qualified by its group, as Kubernetes names resources (`deployments.apps`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def qualified_kind(self) -> str:
        """`Deployment.apps`: how validation messages name the kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


RESOURCES = (
    ResourceType("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), has_status=True),
    ResourceType("", "v1", "Pod", "pods", short_names=("po",), categories=("all",), has_status=True),
    ResourceType("", "v1", "Service", "services", short_names=("svc",), categories=("all",), has_status=True),
    ResourceType("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",), has_status=True),
    ResourceType("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    ResourceType("", "v1", "Event", "events", short_names=("ev",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=("all",),
        has_status=True,
        has_scale=True,
        has_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        categories=("all",),
        has_status=True,
        has_scale=True,
        has_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=("all",),
        has_status=True,
        has_scale=True,
        has_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        short_names=("ds",),
        categories=("all",),
        has_status=True,
        has_generation=True,
    ),
    ResourceType(
        "networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), has_status=True, has_generation=True
    ),
    ResourceType(
        "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",), has_generation=True
    ),
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        categories=("all",),
        has_status=True,
    ),
    ResourceType(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        short_names=("cj",),
        categories=("all",),
        has_status=True,
        has_generation=True,
    ),
    ResourceType("batch", "v1", "Job", "jobs", categories=("all",), has_status=True, has_generation=True),
    ResourceType(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short_names=("pdb",),
        has_status=True,
        has_generation=True,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    # Custom resources on a real cluster (the Gateway API's CRDs); served here as if those were installed.
    ResourceType(
        "gateway.networking.k8s.io",
        "v1",
        "Gateway",
        "gateways",
        short_names=("gtw",),
        categories=("gateway-api",),
        has_status=True,
        has_generation=True,
    ),
    ResourceType(
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
        categories=("gateway-api",),
        has_status=True,
        has_generation=True,
    ),
)

BY_PATH = {(rt.group, rt.version, rt.plural): rt for rt in RESOURCES}
BY_KIND = {(rt.api_version, rt.kind): rt for rt in RESOURCES}
BY_KEY = {rt.key: rt for rt in RESOURCES}

NAMESPACES = BY_KEY["namespaces"]
PODS = BY_KEY["pods"]
EVENTS = BY_KEY["events"]
SERVICES = BY_KEY["services"]
QUOTAS = BY_KEY["resourcequotas"]
LIMIT_RANGES = BY_KEY["limitranges"]
DEPLOYMENTS = BY_KEY["deployments.apps"]
REPLICA_SETS = BY_KEY["replicasets.apps"]
HPAS = BY_KEY["horizontalpodautoscalers.autoscaling"]


def group_versions() -> dict[str, list[str]]:
    """Every served group (core as "") with its versions, in the order discovery lists them."""
    groups: dict[str, list[str]] = {}
    for rt in RESOURCES:
        versions = groups.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
    return groups


def resources_in(group: str, version: str) -> list[ResourceType]:
    return [rt for rt in RESOURCES if rt.group == group and rt.version == version]
