"""A tenant's background work, as its members and the operators see it: how many deployments and builds
may run at once, how many run and how many wait their turn (docs/fairness.md)."""

import pytest

from apps.builds.models import Build
from apps.deployments import fairness
from apps.deployments.services import deployment_create
from apps.tenants.models import Quota
from apps.tenants.roles import Role
from apps.tenants.services import quota_set
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db


def _burst(world, tenant, count, limit):
    """`count` deployments queued (inside the test's transaction nothing admits them) and `limit` admitted."""
    quota_set(operator=world.operator_principal, tenant=tenant, resource=Quota.Resource.DEPLOYMENTS, limit=limit)
    environment = tenant.environments.get(name="dev")
    for n in range(count):
        release = make_release(make_app(tenant, f"burst-{n}"), replicas=1)
        deployment_create(actor=world.principal("owner", tenant=tenant.slug), release=release, environment=environment)
    fairness.admit(tenant.pk)


def _by_kind(rows):
    return {row["kind"]: row for row in rows}


def test_a_member_sees_the_tenants_limits_and_backlog(world, api):
    _burst(world, world.acme, 5, limit=2)
    Build.objects.create(tenant=world.acme, application=make_app(world.acme, "burst-0"), tag="1")
    rows = _by_kind(api.as_user(world.user(Role.VIEWER)).get("/api/v1/tenants/acme/backlog/").json())
    assert {k: v for k, v in rows["deployments"].items() if k != "waiting_since"} == {
        "kind": "deployments",
        "limit": 2,
        "running": 2,
        "waiting": 3,
    }
    assert rows["deployments"]["waiting_since"] is not None
    assert rows["builds"]["running"] == 0 and rows["builds"]["waiting"] == 1 and rows["builds"]["limit"] == 2

    usage = api.get("/api/v1/tenants/acme/usage/").json()
    assert {"resource": "deployments", "environment": None, "limit": 2, "used": 2, "remaining": 0} in usage


def test_a_tenant_sees_only_its_own_backlog(world, api):
    _burst(world, world.acme, 4, limit=1)
    api.as_user(world.outsider)
    assert api.get("/api/v1/tenants/acme/backlog/").status_code == 404
    rows = _by_kind(api.get("/api/v1/tenants/globex/backlog/").json())
    assert rows["deployments"]["running"] == rows["deployments"]["waiting"] == 0
    assert rows["deployments"]["limit"] == 10  # the default, without a quota
    # A key reads it with the quotas scope, never another tenant's.
    assert api.with_key(world.key(Role.VIEWER)).get("/api/v1/tenants/acme/backlog/").status_code == 200
    assert api.get("/api/v1/tenants/globex/backlog/").status_code == 404


def test_the_tenants_quota_page_shows_its_background_work(world, client):
    _burst(world, world.acme, 3, limit=1)
    client.force_login(world.user(Role.DEVELOPER))
    page = client.get("/t/acme/quotas/").content.decode()
    row = page.split('data-kind="deployments"')[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:4]] == ["1", "1", "2"]


def test_operators_see_every_tenant_with_a_backlog_most_waiting_first(world, api, client):
    _burst(world, world.acme, 2, limit=1)
    _burst(world, world.globex, 5, limit=2)
    api.as_user(world.user(Role.OWNER))
    assert api.get("/api/v1/operator/tenants/backlog/").status_code == 403
    rows = api.as_user(world.operator).get("/api/v1/operator/tenants/backlog/").json()
    assert [(row["tenant"], row["running"], row["waiting"]) for row in rows] == [("globex", 2, 3), ("acme", 1, 1)]
    assert _by_kind(rows[0]["work"])["deployments"]["limit"] == 2

    client.force_login(world.user(Role.OWNER))
    assert client.get("/operator/backlog/").status_code == 404
    client.force_login(world.operator)
    page = client.get("/operator/backlog/").content.decode()
    assert page.index('data-tenant="globex"') < page.index('data-tenant="acme"')
