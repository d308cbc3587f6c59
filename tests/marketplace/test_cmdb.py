"""The CMDB knows who depends on an add-on: an instance is a database (or cache) item, each binding a
"depends on" edge from its application, so the database's impact lists every application bound to it."""

import pytest

from apps.cmdb import keys
from apps.cmdb.choices import Direction, Status
from apps.cmdb.models import ConfigurationItem
from apps.cmdb.selectors import impact_report
from apps.marketplace import services

from .conftest import bind, provision

pytestmark = pytest.mark.django_db


def downstream(item):
    return {
        entry["name"]
        for entry in impact_report(item, direction=Direction.DOWNSTREAM, depth=3, tenant_ids=None)["items"]
    }


def test_a_databases_impact_lists_every_bound_application_until_unbound(world, cluster, postgres):
    instance = provision(world, postgres, name="orders")
    web, _ = bind(world, instance, "web")
    bind(world, instance, "worker")
    item = ConfigurationItem.objects.get(key=keys.addon_key(instance.uid))
    assert item.ci_type.slug == "database" and item.name == "dev/orders"
    assert {"web", "worker"} <= downstream(item)

    services.binding_delete(actor=world.principal("developer"), binding=web)
    assert "web" not in downstream(item) and "worker" in downstream(item)

    for binding in instance.bindings.all():
        services.binding_delete(actor=world.principal("developer"), binding=binding)
    services.instance_deprovision(actor=world.principal("developer"), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    item.refresh_from_db()
    assert item.status == Status.RETIRED
