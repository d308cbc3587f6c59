"""Stable keys of items that come from somewhere, shared by catalog sync and discovery.

A namespace that belongs to an environment is unique across the portal, so objects in it are keyed
by namespace alone: the workload the catalog records for a deployment and the Deployment discovery
lists are then one and the same item. Objects elsewhere are keyed by cluster too.
"""


def cluster_key(cluster: str) -> str:
    return f"k8s/{cluster}"


def node_key(cluster: str, node: str) -> str:
    return f"k8s/{cluster}/node/{node}"


def namespace_key(namespace: str, cluster: str | None = None) -> str:
    """`cluster` is given only for namespaces no environment owns."""
    return f"k8s/{cluster}/ns/{namespace}" if cluster else f"ns/{namespace}"


def object_key(namespace: str, kind: str, name: str, cluster: str | None = None) -> str:
    return f"{namespace_key(namespace, cluster)}/{kind}/{name}"


def application_key(application_id: int) -> str:
    return f"catalog/app/{application_id}"


def team_key(tenant_id: int, team: str) -> str:
    return f"catalog/team/{tenant_id}/{team.strip().lower()}"


def addon_key(instance_uid) -> str:
    """An add-on instance (apps/marketplace), by its uid: the same item whatever it is renamed to."""
    return f"addon/{instance_uid}"


def host_key(host: str) -> str:
    """A host name: one tenant holds it platform-wide (apps/tenants/claims.py), so the name is the key."""
    return f"host/{host}"


def route_key(route_id: int) -> str:
    """A route (apps/traffic), by id: the same item whatever its host or path become."""
    return f"route/{route_id}"
