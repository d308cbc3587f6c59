"""The catalog as a source: applications, environments' namespaces and deployed workloads keep
their items up to date through post_save signals (connected in CmdbConfig.ready), so the catalog's
code knows nothing of the CMDB.

What the catalog says is declared (source "catalog"); discovery later adds what the cluster says
beside it, in the same items, never over it.
"""

from __future__ import annotations

from django.db.models.signals import post_save

from apps.catalog.models import Application
from apps.deployments.models import Deployment
from apps.tenants.models import Environment

from . import keys
from .choices import Provenance, RelationKind
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


def _on_application_saved(sender, instance, **kwargs):
    sync_application(instance)


def _on_environment_saved(sender, instance, created, **kwargs):
    if created:
        sync_environment(instance)


def _on_deployment_saved(sender, instance, created, **kwargs):
    if created:
        sync_deployment(instance)


def connect() -> None:
    post_save.connect(_on_application_saved, sender=Application, dispatch_uid="cmdb-application")
    post_save.connect(_on_environment_saved, sender=Environment, dispatch_uid="cmdb-environment")
    post_save.connect(_on_deployment_saved, sender=Deployment, dispatch_uid="cmdb-deployment")
