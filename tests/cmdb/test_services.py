"""Declaring items and relationships, and the refusals: schema violations, self-relations,
cross-tenant edges, platform types; every change leaves history and one audit event."""

import pytest

from apps.audit.models import AuditEvent
from apps.cmdb import services
from apps.cmdb.models import ChangeRecord, CIType, ConfigurationItem, Relationship
from apps.cmdb.services.types import SCHEMA_INVALID
from apps.core.errors import ApplicationError
from apps.tenants.principals import as_principal

from .conftest import make_item

pytestmark = pytest.mark.django_db


def database():
    return CIType.objects.get(slug="database")


def test_builtin_types_exist():
    slugs = set(CIType.objects.values_list("slug", flat=True))
    assert {
        "cluster",
        "node",
        "namespace",
        "application",
        "workload",
        "service",
        "ingress",
        "database",
        "cache",
        "queue",
        "external-service",
        "team",
    } <= slugs
    assert set(CIType.objects.filter(is_platform=True).values_list("slug", flat=True)) == {"cluster", "node"}


def test_declare_update_and_delete_keep_history(world):
    developer = world.user("developer")
    item = services.item_declare(
        actor=as_principal(developer),
        tenant=world.acme,
        ci_type=database(),
        name=" orders-db ",
        labels={"tier": "gold"},
        attributes={"engine": "postgres"},
    )
    assert item.name == "orders-db" and item.declared_attributes == {"engine": "postgres"}
    services.item_update(actor=as_principal(developer), item=item, attributes={"engine": "postgres", "version": "16"})
    history = list(ChangeRecord.objects.filter(item=item).order_by("id"))
    assert [h.action for h in history] == ["create", "update"]
    assert history[1].before == {"declared_attributes": {"engine": "postgres"}}
    assert history[1].after == {"declared_attributes": {"engine": "postgres", "version": "16"}}
    assert history[1].source == developer.email and history[1].actor == developer
    pk = item.pk
    services.item_delete(actor=as_principal(developer), item=item)
    assert not ConfigurationItem.objects.filter(pk=pk).exists()
    assert ChangeRecord.objects.filter(item_id=pk, action="delete").exists()
    assert AuditEvent.objects.filter(action__startswith="cmdb.item").count() == 3


def test_attributes_must_fit_the_type_schema(world):
    with pytest.raises(ApplicationError) as refused:
        services.item_declare(
            actor=world.principal("developer"),
            tenant=world.acme,
            ci_type=database(),
            name="db",
            attributes={"engine": 5},
        )
    assert refused.value.code == services.SCHEMA_VIOLATION and refused.value.field == "attributes"
    assert "engine" in refused.value.message
    external = CIType.objects.get(slug="external-service")
    with pytest.raises(ApplicationError) as refused:
        services.item_declare(
            actor=world.principal("developer"),
            tenant=world.acme,
            ci_type=external,
            name="payments",
            attributes={"url": "not a url"},
        )
    assert refused.value.code == services.SCHEMA_VIOLATION
    assert not ConfigurationItem.objects.filter(name="db").exists()


def test_platform_types_are_discoverys(world):
    with pytest.raises(ApplicationError) as refused:
        services.item_declare(
            actor=world.principal("developer"),
            tenant=world.acme,
            ci_type=CIType.objects.get(slug="node"),
            name="node-1",
        )
    assert refused.value.code == services.PLATFORM_TYPE


def test_viewers_cannot_declare(world):
    with pytest.raises(ApplicationError) as refused:
        services.item_declare(actor=world.principal("viewer"), tenant=world.acme, ci_type=database(), name="db")
    assert refused.value.status == 403


def test_billing_depends_on_an_external_payment_api(world):
    developer = world.user("developer")
    billing = services.item_declare(
        actor=as_principal(developer), tenant=world.acme, ci_type=CIType.objects.get(slug="application"), name="billing"
    )
    payments = services.item_declare(
        actor=as_principal(developer),
        tenant=world.acme,
        ci_type=CIType.objects.get(slug="external-service"),
        name="payments API",
        attributes={"url": "https://api.payments.example", "vendor": "Stripe"},
    )
    edge = services.relationship_declare(
        actor=as_principal(developer), source=billing, target=payments, kind="depends_on"
    )
    assert edge.tenant == world.acme and edge.provenance == "declared"
    assert ChangeRecord.objects.filter(relationship_id=edge.pk, other_item_id=payments.pk).exists()
    with pytest.raises(ApplicationError) as refused:
        services.relationship_declare(actor=as_principal(developer), source=billing, target=payments, kind="depends_on")
    assert refused.value.code == services.DUPLICATE


def test_an_item_cannot_depend_on_itself(world):
    item = make_item(world.acme)
    with pytest.raises(ApplicationError) as refused:
        services.relationship_declare(actor=world.principal("developer"), source=item, target=item, kind="depends_on")
    assert refused.value.code == services.SELF_RELATION
    assert refused.value.message == services.items.SELF_RELATION_MESSAGE


def test_no_relationship_reaches_another_tenant(world):
    mine, theirs = make_item(world.acme), make_item(world.globex)
    with pytest.raises(ApplicationError) as refused:
        services.relationship_declare(actor=world.principal("developer"), source=mine, target=theirs, kind="depends_on")
    assert refused.value.code == services.CROSS_TENANT
    assert not Relationship.objects.exists()


def test_a_platform_item_is_never_reachable_by_members(world):
    node = make_item(None, "node-1", type_slug="node")
    mine = make_item(world.acme, type_slug="workload")
    with pytest.raises(ApplicationError) as refused:
        services.relationship_declare(actor=world.principal("developer"), source=mine, target=node, kind="runs_on")
    assert refused.value.status == 404
    # Even once discovery relates one of acme's items to the node, it stays the platform's.
    Relationship.objects.create(
        tenant=world.acme, source=mine, target=node, kind="runs_on", provenance="observed", origin="discovery:x"
    )
    with pytest.raises(ApplicationError) as refused:
        services.relationship_declare(
            actor=world.principal("developer"), source=make_item(world.acme), target=node, kind="runs_on"
        )
    assert refused.value.status == 404
    assert not ConfigurationItem.objects.restrict(world.user("viewer")).filter(pk=node.pk).exists()
    assert not Relationship.objects.restrict(world.user("viewer")).filter(target=node).exists()
    assert ConfigurationItem.objects.restrict(world.operator).filter(pk=node.pk).exists()


def test_operators_define_types_with_valid_schemas(world):
    with pytest.raises(ApplicationError):
        services.type_create(operator=world.principal("owner"), slug="firewall", name="Firewall")
    with pytest.raises(ApplicationError) as refused:
        services.type_create(
            operator=world.operator_principal,
            slug="firewall",
            name="Firewall",
            attribute_schema={"type": "object", "properties": {"rules": {"type": "nope"}}},
        )
    assert refused.value.code == SCHEMA_INVALID
    firewall = services.type_create(
        operator=world.operator_principal,
        slug="firewall",
        name="Firewall",
        attribute_schema={"type": "object", "required": ["vendor"]},
    )
    item = services.item_declare(
        actor=world.principal("developer"),
        tenant=world.acme,
        ci_type=firewall,
        name="fw",
        attributes={"vendor": "acme"},
    )
    assert item.ci_type == firewall
