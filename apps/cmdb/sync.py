"""The catalog as a source: applications, environments' namespaces and deployed workloads keep
their items up to date through post_save signals (connected in CmdbConfig.ready), so the catalog's
code knows nothing of the CMDB.

What the catalog says is declared (source "catalog"); discovery later adds what the cluster says
beside it, in the same items, never over it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db.models.signals import post_delete, post_save

from apps.catalog.models import Application
from apps.deployments.models import Deployment
from apps.marketplace.models import BindingState, ServiceBinding, ServiceInstance
from apps.tenants.models import Environment
from apps.traffic.models import Route
from apps.workloads.models import Workload
from apps.workloads.services import drift_summary
from apps.workloads.signals import workload_read

from . import keys
from .choices import Provenance, RelationKind, Status
from .models import ChangeRecord, CIType, ConfigurationItem, Relationship
from .services.history import edge_snapshot, item_snapshot, record

SOURCE = "catalog"


def upsert_item(*, key: str, tenant_id: int, type_slug: str, name: str, attributes: dict) -> ConfigurationItem | None:
    """Create or update the item with this key from the catalog's facts; one history row per change."""
    item = ConfigurationItem.objects.select_related("ci_type").filter(key=key).first()
    if item is None:
        ci_type = CIType.objects.filter(slug=type_slug).first()
        if ci_type is None:
            return None  # an operator removed the built-in type: nothing to record it as
        item = ConfigurationItem.objects.create(
            key=key,
            tenant_id=tenant_id,
            ci_type=ci_type,
            name=name,
            declared_attributes=attributes,
            source=SOURCE,
            provenance=Provenance.DECLARED,
        )
        record(
            actor=SOURCE,
            action=ChangeRecord.Action.CREATE,
            item=item,
            after=item_snapshot(item),
            summary=f"{name} from the catalog",
        )
        return item
    before = item_snapshot(item)
    item.name, item.declared_attributes = name, {**item.declared_attributes, **attributes}
    after = item_snapshot(item)
    if after != before:
        item.save(update_fields=["name", "declared_attributes", "updated_at"])
        record(
            actor=SOURCE,
            action=ChangeRecord.Action.UPDATE,
            item=item,
            before=before,
            after=after,
            summary=f"{name} changed in the catalog",
        )
    return item


def upsert_edge(source: ConfigurationItem | None, target: ConfigurationItem | None, kind: str) -> None:
    if source is None or target is None or source.tenant_id != target.tenant_id:
        return
    edge, created = Relationship.objects.get_or_create(
        source=source,
        target=target,
        kind=kind,
        provenance=Provenance.DECLARED,
        defaults={"tenant_id": source.tenant_id, "origin": SOURCE},
    )
    if created:
        record(
            actor=SOURCE,
            action=ChangeRecord.Action.CREATE,
            edge=edge,
            after=edge_snapshot(edge),
            summary=f"{source.name} {edge.get_kind_display()} {target.name}",
        )


def sync_application(application: Application) -> ConfigurationItem | None:
    attributes = {
        "component_kind": application.component_kind,
        "team": application.team,
        "repository_url": application.repository_url,
        "description": application.description,
    }
    item = upsert_item(
        key=keys.application_key(application.pk),
        tenant_id=application.tenant_id,
        type_slug="application",
        name=application.name,
        attributes=attributes,
    )
    if item is not None and application.team.strip():
        team = upsert_item(
            key=keys.team_key(application.tenant_id, application.team),
            tenant_id=application.tenant_id,
            type_slug="team",
            name=application.team.strip(),
            attributes={},
        )
        upsert_edge(item, team, RelationKind.OWNED_BY)
    return item


def sync_environment(environment: Environment) -> ConfigurationItem | None:
    return upsert_item(
        key=keys.namespace_key(environment.namespace),
        tenant_id=environment.tenant_id,
        type_slug="namespace",
        name=environment.namespace,
        attributes={"environment": environment.name, "kind": environment.kind},
    )


def sync_deployment(deployment: Deployment) -> ConfigurationItem | None:
    """The workload a deployment runs: part of its application and of its environment's namespace."""
    application, environment = deployment.application, deployment.environment
    namespace = environment.namespace
    workload = upsert_item(
        key=keys.object_key(namespace, "workload", application.name),
        tenant_id=deployment.tenant_id,
        type_slug="workload",
        name=f"{namespace}/{application.name}",
        attributes={"namespace": namespace, "environment": environment.name, "image": deployment.release.image},
    )
    upsert_edge(workload, sync_application(application), RelationKind.PART_OF)
    upsert_edge(workload, sync_environment(environment), RelationKind.PART_OF)
    return workload


LIFECYCLE = "lifecycle"


def sync_workload_state(workload: Workload) -> None:
    """Write the workload's health and drift, as last read from the cluster, into its item, so the
    CMDB's pages and impact analysis say which items are degraded or out of sync. A change of health
    or sync is one history row."""
    key = keys.object_key(workload.environment.namespace, "workload", workload.application.name)
    item = ConfigurationItem.objects.select_related("ci_type").filter(key=key).first()
    if item is None:
        return
    state = {  # LIFECYCLE_ATTRIBUTES
        "health": workload.health,
        "health_reason": workload.health_reason,
        "sync": workload.sync,
        "drift": drift_summary(workload.drift) if workload.drift else "",
        "live_release": workload.release.number if workload.release_id else None,
    }
    old = item.discovered_attributes or {}
    if all(old.get(name) == value for name, value in state.items()):
        return
    before = item_snapshot(item)
    item.discovered_attributes = {**old, **state}
    item.save(update_fields=["discovered_attributes", "updated_at"])
    if (old.get("health"), old.get("sync")) != (state["health"], state["sync"]):
        record(
            actor=LIFECYCLE,
            action=ChangeRecord.Action.UPDATE,
            item=item,
            before=before,
            after=item_snapshot(item),
            summary=f"{item.name} is {workload.get_health_display().lower()}, {workload.get_sync_display().lower()}",
        )


def _on_workload_read(sender, workload, **kwargs):
    sync_workload_state(workload)


# An add-on is a database, a cache, or (from a broker) an external service; an in-cluster one is what
# its template runs (the server's URL names it: incluster://redis).
ADDON_TYPES = {"postgres": "database", "redis": "cache", "osb": "external-service"}


def _addon_type(instance: ServiceInstance) -> str:
    kind = instance.offering.kind
    if kind == "incluster":
        kind = urlsplit(instance.offering.server.admin_url).hostname or kind
    return ADDON_TYPES.get(kind, "external-service")


def sync_addon(instance: ServiceInstance) -> ConfigurationItem | None:
    """An add-on instance: part of its environment's namespace; bound applications depend on it."""
    item = upsert_item(
        key=keys.addon_key(instance.uid),
        tenant_id=instance.tenant_id,
        type_slug=_addon_type(instance),
        name=f"{instance.environment.name}/{instance.name}",
        attributes={"engine": instance.offering.name} if instance.offering.kind != "osb" else {},
    )
    upsert_edge(item, sync_environment(instance.environment), RelationKind.PART_OF)
    return item


def sync_binding(binding: ServiceBinding) -> None:
    """A ready binding: the application depends on the add-on, so the add-on's impact lists it."""
    upsert_edge(sync_application(binding.application), sync_addon(binding.instance), RelationKind.DEPENDS_ON)


def forget_binding(binding: ServiceBinding) -> None:
    """An unbound application no longer depends on the add-on (unless it is bound to it again)."""
    source = ConfigurationItem.objects.filter(key=keys.application_key(binding.application_id)).first()
    target = ConfigurationItem.objects.filter(key=keys.addon_key(binding.instance.uid)).first()
    if source is None or target is None:
        return
    for edge in Relationship.objects.filter(
        source=source, target=target, kind=RelationKind.DEPENDS_ON, provenance=Provenance.DECLARED, origin=SOURCE
    ):
        record(
            actor=SOURCE,
            action=ChangeRecord.Action.DELETE,
            edge=edge,
            before=edge_snapshot(edge),
            summary=f"{source.name} no longer depends on {target.name}",
        )
        edge.delete()


def retire_addon(instance: ServiceInstance) -> None:
    """A removed add-on stays in the CMDB's history as retired."""
    item = ConfigurationItem.objects.filter(key=keys.addon_key(instance.uid)).first()
    if item is not None and item.status != Status.RETIRED:
        before = item_snapshot(item)
        item.status = Status.RETIRED
        item.save(update_fields=["status", "updated_at"])
        record(
            actor=SOURCE,
            action=ChangeRecord.Action.RETIRE,
            item=item,
            before=before,
            after=item_snapshot(item),
            summary=f"{item.name} was removed",
        )


def _workload_of(application, environment, tenant_id: int) -> ConfigurationItem | None:
    namespace = environment.namespace
    workload = upsert_item(
        key=keys.object_key(namespace, "workload", application.name),
        tenant_id=tenant_id,
        type_slug="workload",
        name=f"{namespace}/{application.name}",
        attributes={"namespace": namespace, "environment": environment.name},
    )
    upsert_edge(workload, sync_application(application), RelationKind.PART_OF)
    upsert_edge(workload, sync_environment(environment), RelationKind.PART_OF)
    return workload


def sync_route(route: Route) -> ConfigurationItem | None:
    """A route: the host depends on it and it depends on the workload it sends traffic to, so impact
    analysis from a host name reaches the workloads behind it (and a workload's reaches its hosts)."""
    environment = route.environment
    item = upsert_item(
        key=keys.route_key(route.pk),
        tenant_id=route.tenant_id,
        type_slug="route",
        name=f"{route.host}{route.path}",
        attributes={
            "host": route.host,
            "path": route.path,
            "namespace": environment.namespace,
            "environment": environment.name,
            "tls": route.tls,
        },
    )
    host = upsert_item(
        key=keys.host_key(route.host), tenant_id=route.tenant_id, type_slug="host", name=route.host, attributes={}
    )
    _forget_host_edges(item, keep=host)
    upsert_edge(host, item, RelationKind.DEPENDS_ON)
    upsert_edge(item, _workload_of(route.application, environment, route.tenant_id), RelationKind.DEPENDS_ON)
    if item is not None and item.status == Status.RETIRED:
        _set_status(item, Status.ACTIVE, f"{item.name} routed again")
    return item


def _forget_host_edges(item: ConfigurationItem | None, *, keep: ConfigurationItem | None) -> None:
    """Drop the declared edges into the route from hosts other than `keep` (its host changed, or it went)."""
    if item is None:
        return
    stale = Relationship.objects.filter(
        target=item, kind=RelationKind.DEPENDS_ON, provenance=Provenance.DECLARED, origin=SOURCE
    )
    if keep is not None:
        stale = stale.exclude(source=keep)
    for edge in stale.select_related("source"):
        record(
            actor=SOURCE,
            action=ChangeRecord.Action.DELETE,
            edge=edge,
            before=edge_snapshot(edge),
            summary=f"{edge.source.name} no longer routes through {item.name}",
        )
        edge.delete()


def _set_status(item: ConfigurationItem, status: str, summary: str) -> None:
    before = item_snapshot(item)
    item.status = status
    item.save(update_fields=["status", "updated_at"])
    record(
        actor=SOURCE,
        action=ChangeRecord.Action.RETIRE if status == Status.RETIRED else ChangeRecord.Action.UPDATE,
        item=item,
        before=before,
        after=item_snapshot(item),
        summary=summary,
    )


def retire_route(route: Route) -> None:
    """A deleted route stays in the CMDB's history as retired; its host no longer depends on it."""
    item = ConfigurationItem.objects.filter(key=keys.route_key(route.pk)).first()
    if item is None:
        return
    _forget_host_edges(item, keep=None)
    if item.status != Status.RETIRED:
        _set_status(item, Status.RETIRED, f"{item.name} was removed")


def _on_route_saved(sender, instance, **kwargs):
    sync_route(instance)


def _on_route_deleted(sender, instance, **kwargs):
    retire_route(instance)


def _on_addon_saved(sender, instance, **kwargs):
    if instance.state == "ready":
        sync_addon(instance)


def _on_addon_deleted(sender, instance, **kwargs):
    retire_addon(instance)


def _on_binding_saved(sender, instance, **kwargs):
    if instance.state == BindingState.READY:
        sync_binding(instance)


def _on_binding_deleted(sender, instance, **kwargs):
    forget_binding(instance)


def _on_application_saved(sender, instance, **kwargs):
    sync_application(instance)


def _on_environment_saved(sender, instance, created, **kwargs):
    if created:
        sync_environment(instance)


def _on_deployment_saved(sender, instance, created, **kwargs):
    if created:
        sync_deployment(instance)


def connect() -> None:
    workload_read.connect(_on_workload_read, dispatch_uid="cmdb-workload-read")
    post_save.connect(_on_application_saved, sender=Application, dispatch_uid="cmdb-application")
    post_save.connect(_on_environment_saved, sender=Environment, dispatch_uid="cmdb-environment")
    post_save.connect(_on_deployment_saved, sender=Deployment, dispatch_uid="cmdb-deployment")
    post_save.connect(_on_addon_saved, sender=ServiceInstance, dispatch_uid="cmdb-addon")
    post_delete.connect(_on_addon_deleted, sender=ServiceInstance, dispatch_uid="cmdb-addon-removed")
    post_save.connect(_on_binding_saved, sender=ServiceBinding, dispatch_uid="cmdb-binding")
    post_delete.connect(_on_binding_deleted, sender=ServiceBinding, dispatch_uid="cmdb-binding-removed")
    post_save.connect(_on_route_saved, sender=Route, dispatch_uid="cmdb-route")
    post_delete.connect(_on_route_deleted, sender=Route, dispatch_uid="cmdb-route-removed")
