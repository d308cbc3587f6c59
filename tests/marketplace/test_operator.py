"""Operators publish add-ons in the console: register a server, publish an offering and its plans, and
retry a failed instance; everyone else gets the console's 404. The demo seeds an offering whose first
plan needs no approval."""

import pytest
from django.urls import reverse

from apps.marketplace.demo import seed_marketplace
from apps.marketplace.models import InstanceState, ServiceOffering, SharedServer

from .conftest import provision

pytestmark = pytest.mark.django_db
PAGE = reverse("operator:addons")


def test_an_operator_registers_a_server_and_publishes_an_offering_with_plans(world, client, pg_server):
    client.force_login(world.operator)
    response = client.post(PAGE, {"form": "server", "name": "shared-pg", "kind": "postgres", "admin_url": pg_server})
    assert response.status_code == 302, response.content.decode()
    password = pg_server.split(":")[2].split("@")[0]
    page = client.get(PAGE).content.decode()
    assert "shared-pg" in page and password not in page
    assert (
        client.post(
            PAGE, {"form": "offering", "slug": "pg", "name": "Postgres", "server": "shared-pg", "is_active": "on"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            PAGE,
            {"form": "plan", "offering": "pg", "slug": "s", "name": "S", "limits": '{"connections": 3}', "position": 0},
        ).status_code
        == 302
    )
    bad = client.post(PAGE, {"form": "plan", "offering": "pg", "slug": "x", "name": "X", "limits": "[", "position": 0})
    assert bad.status_code == 400 and "JSON object" in bad.content.decode()
    assert ServiceOffering.objects.get(slug="pg").plans.get(slug="s").limits == {"connections": 3}


def test_the_portals_own_server_is_refused_on_the_page(world, client, settings):
    client.force_login(world.operator)
    db = settings.DATABASES["default"]
    own = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    response = client.post(PAGE, {"form": "server", "name": "mine", "kind": "postgres", "admin_url": own})
    assert response.status_code == 400 and "portal" in response.content.decode()
    assert not SharedServer.objects.exists()


def test_members_do_not_reach_the_console(world, client):
    client.force_login(world.user("owner"))
    assert client.get(PAGE).status_code == 404


def test_an_operator_retries_a_failed_instance(world, client, cluster, postgres, pg_server):
    server = postgres.server
    server.admin_url = "postgresql://postgres:x@127.0.0.1:1/postgres"
    server.save()
    instance = provision(world, postgres)
    assert instance.state == InstanceState.FAILED
    client.force_login(world.operator)
    assert "does not answer" in client.get(PAGE).content.decode()
    server.admin_url = pg_server
    server.save()
    client.post(reverse("operator:addon-retry", kwargs={"pk": instance.pk}))
    instance.refresh_from_db()
    assert instance.state == InstanceState.PROVISIONING


def test_the_demo_publishes_offerings_whose_first_plan_needs_no_approval(world, settings, pg_server, redis_server):
    settings.ADDON_DEMO_POSTGRES_URL, settings.ADDON_DEMO_REDIS_URL = pg_server, redis_server
    seed_marketplace(world.operator_principal)
    seed_marketplace(world.operator_principal)  # again: nothing doubles
    for slug in ("postgresql", "redis"):
        plans = list(ServiceOffering.objects.get(slug=slug).plans.order_by("position"))
        assert not plans[0].needs_approval and any(plan.needs_approval for plan in plans)
    assert SharedServer.objects.count() == 2
