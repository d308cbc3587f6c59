"""Two tenants adding a route for one host at the same moment, on real PostgreSQL: exactly one wins."""

import threading

import pytest
from django.db import connection

from apps.core.errors import ApplicationError
from apps.tenants.claims import HOST_TAKEN
from apps.tenants.models import HostClaim
from apps.tenants.roles import Role
from apps.traffic.models import Route
from apps.traffic.services import route_create
from tests.deployments.conftest import make_app, make_release


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("host", ["race.example.com", "api.race.example.com"])
def test_two_tenants_routing_one_host_at_once_end_with_one_owner(world, host):
    apps = {}
    for tenant in (world.acme, world.globex):
        apps[tenant.slug] = make_app(tenant, name="web")
        make_release(apps[tenant.slug])
    # globex goes for the parent domain when acme goes for a host below it: they overlap just the same
    wanted = {"acme": host, "globex": "race.example.com"}
    barrier, outcomes = threading.Barrier(2), {}

    def add(tenant):
        try:
            barrier.wait()
            route_create(
                actor=world.principal(Role.DEVELOPER, tenant.slug),
                tenant=tenant,
                environment=tenant.environments.get(name="dev"),
                application=apps[tenant.slug],
                host=wanted[tenant.slug],
            )
            outcomes[tenant.slug] = "routed"
        except ApplicationError as error:
            outcomes[tenant.slug] = (error.code, error.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(tenant,)) for tenant in (world.acme, world.globex)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values(), key=str) == sorted(["routed", (HOST_TAKEN, 409)], key=str), outcomes
    winner = next(slug for slug, outcome in outcomes.items() if outcome == "routed")
    assert set(Route.objects.values_list("tenant__slug", flat=True)) == {winner}
    assert set(HostClaim.objects.values_list("tenant__slug", flat=True)) == {winner}
