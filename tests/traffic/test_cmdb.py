"""Routes in the CMDB: host -> route -> workload, so impact analysis can start from a host name."""

import pytest

from apps.cmdb.models import ConfigurationItem
from apps.tenants.roles import Role
from apps.traffic.services import route_create, route_delete, route_update

pytestmark = pytest.mark.django_db


def _route(world, shop, **fields):
    return route_create(
        actor=world.principal(Role.DEVELOPER),
        tenant=world.acme,
        environment=world.acme.environments.get(name="prod"),
        application=shop,
        host="shop.acme-corp.com",
        **fields,
    )


def _item(api, name, type_slug):
    found = api.get("/api/v1/cmdb/items/", {"q": name, "type": type_slug}).json()["results"]
    assert len(found) == 1, found
    return found[0]


def test_impact_from_a_host_name_reaches_the_workload_behind_it(api, world, shop):
    route = _route(world, shop, path="/api")
    api.as_user(world.user(Role.VIEWER))
    host = _item(api, "shop.acme-corp.com", "host")
    upstream = api.get(f"/api/v1/cmdb/items/{host['id']}/impact/", {"direction": "upstream", "depth": 3}).json()
    reached = {(item["type"], item["name"]) for item in upstream["items"]}
    assert ("route", "shop.acme-corp.com/api") in reached
    assert ("workload", f"{route.environment.namespace}/shop") in reached

    # and the other way: what stops being reachable when the workload goes
    workload = _item(api, f"{route.environment.namespace}/shop", "workload")
    downstream = api.get(f"/api/v1/cmdb/items/{workload['id']}/impact/", {"depth": 3}).json()
    assert ("host", "shop.acme-corp.com") in {(item["type"], item["name"]) for item in downstream["items"]}

    # another tenant's member finds none of it
    api.as_user(world.outsider)
    assert api.get("/api/v1/cmdb/items/", {"q": "shop.acme-corp.com"}).json()["results"] == []


def test_a_moved_or_deleted_route_leaves_the_host_behind(world, shop):
    route = _route(world, shop)
    route_update(actor=world.principal(Role.DEVELOPER), route=route, host="www.acme-corp.com")
    item = ConfigurationItem.objects.get(key=f"route/{route.pk}")
    assert set(item.incoming.values_list("source__name", flat=True)) == {"www.acme-corp.com"}
    assert item.name == "www.acme-corp.com/"

    route_delete(actor=world.principal(Role.DEVELOPER), route=route)
    item.refresh_from_db()
    assert item.status == "retired"
    assert not item.incoming.exists()
    assert item.outgoing.filter(target__ci_type__slug="workload").exists()  # history keeps where it went
