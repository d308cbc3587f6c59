"""The objects that make an environment's namespace an isolated home: a pure function of its settings."""

from django.conf import settings

from apps.tenants.models import Environment, Quota

LABEL_TENANT = "paas.dev/tenant"
LABEL_ENVIRONMENT = "paas.dev/environment"
# The environment's id, which unlike its name never changes: the mark that a namespace is its own.
LABEL_ENVIRONMENT_ID = "paas.dev/environment-id"
MANAGED_BY = {"app.kubernetes.io/managed-by": "paas-portal"}
POD_SECURITY = "pod-security.kubernetes.io/enforce"

# Quota resource -> ResourceQuota hard keys (CPU in millicores, memory in MiB).
QUOTA_KEYS = {
    Quota.Resource.CPU: [("requests.cpu", "{}m"), ("limits.cpu", "{}m")],
    Quota.Resource.MEMORY: [("requests.memory", "{}Mi"), ("limits.memory", "{}Mi")],
    Quota.Resource.PODS: [("pods", "{}")],
}
# What a container gets when its release says nothing, so quota accounting always works.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}


def namespace_manifests(environment: Environment, quotas: list[Quota], *, ingress_namespace: str) -> list[dict]:
    """Namespace, ResourceQuota (when the environment has quotas), LimitRange and a default-deny
    NetworkPolicy that still lets in traffic from the same namespace and the ingress controller."""
    name = environment.namespace
    labels = {
        **MANAGED_BY,
        LABEL_TENANT: environment.tenant.slug,
        LABEL_ENVIRONMENT: environment.name,
        LABEL_ENVIRONMENT_ID: str(environment.pk),
    }
    meta = {"namespace": name, "labels": labels}
    # The cluster's Pod Security admission holds every pod in the namespace to this level (baseline: no
    # host namespaces or files, no privilege), whoever creates it: the portal, or kubectl behind its back.
    level = settings.TENANT_POD_SECURITY
    security = {POD_SECURITY: level, f"{POD_SECURITY}-version": "latest"} if level else {}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {**labels, **security}}}
    manifests = [namespace]
    hard = {}
    for quota in sorted(quotas, key=lambda q: q.resource):
        for key, unit in QUOTA_KEYS.get(quota.resource, []):
            hard[key] = unit.format(quota.limit)
    if hard:
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "tenant-quota", **meta},
                "spec": {"hard": hard},
            }
        )
    manifests.append(
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "container-defaults", **meta},
            "spec": {"limits": [{"type": "Container", "defaultRequest": DEFAULT_REQUEST, "default": DEFAULT_LIMIT}]},
        }
    )
    manifests.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", **meta},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"podSelector": {}},
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ingress_namespace}}},
                        ]
                    }
                ],
            },
        }
    )
    return manifests


def is_environments_namespace(namespace: dict | None, environment: Environment) -> bool:
    """Whether a namespace read from the cluster is this environment's: absent (ours to create), or
    labelled by the portal for this tenant and environment. Anything else is never adopted.

    Namespaces provisioned before the id label existed carry the environment's name instead."""
    if namespace is None:
        return True
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in MANAGED_BY.items()):
        return False
    if labels.get(LABEL_TENANT) != environment.tenant.slug:
        return False
    if LABEL_ENVIRONMENT_ID in labels:
        return labels[LABEL_ENVIRONMENT_ID] == str(environment.pk)
    return labels.get(LABEL_ENVIRONMENT) == environment.name
