"""Operators define API plans and put tenants on them, in the console and through the operator API; audited."""

import pytest

from apps.apikeys import ratelimit
from apps.apikeys.models import Plan, TenantPlan
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PLAN = {
    "name": "Gold",
    "description": "For big customers",
    "requests_per_second": 200,
    "burst": 400,
    "tenant_requests_per_second": 500,
    "tenant_burst": 1000,
    "daily_quota": 5_000_000,
    "monthly_quota": 100_000_000,
}


def test_the_plan_pages_are_for_operators_only(world, client):
    client.force_login(world.user("owner"))
    for url in ("/operator/plans/", "/operator/plans/new/"):
        assert client.get(url).status_code == 404
    assert client.post("/operator/tenants/acme/plan/", {"plan": ""}).status_code == 404


def test_an_operator_creates_and_changes_a_plan(world, client):
    client.force_login(world.operator)
    response = client.post("/operator/plans/new/", {**PLAN, "daily_quota": "", "is_default": ""})
    assert response.status_code == 302
    plan = Plan.objects.get(name="Gold")
    assert (plan.burst, plan.daily_quota) == (400, None)
    assert AuditEvent.objects.get(action="plan.create").actor == world.operator

    assert "Gold" in client.get("/operator/plans/").content.decode()
    response = client.post(f"/operator/plans/{plan.pk}/", {**PLAN, "burst": 800})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.burst == 800
    assert AuditEvent.objects.get(action="plan.update").changes["burst"] == [400, 800]


def test_a_plan_that_contradicts_itself_is_refused_on_the_field(world, client):
    client.force_login(world.operator)
    response = client.post("/operator/plans/new/", {**PLAN, "tenant_burst": 10})
    assert response.status_code == 400
    assert "cannot be smaller than one key" in response.content.decode()
    Plan.objects.create(**{**PLAN, "name": "Taken"})
    response = client.post("/operator/plans/new/", {**PLAN, "name": "taken"})
    assert response.status_code == 400 and "exists already" in response.content.decode()


def test_one_default_plan_at_a_time(world, client):
    client.force_login(world.operator)
    first = Plan.objects.filter(is_default=True).first() or Plan.objects.create(
        **{**PLAN, "name": "Old", "is_default": True}
    )
    client.post("/operator/plans/new/", {**PLAN, "is_default": "on"})
    assert list(Plan.objects.filter(is_default=True).values_list("name", flat=True)) == ["Gold"]
    first.refresh_from_db()
    assert not first.is_default


def test_assigning_a_plan_from_the_tenant_page_applies_at_once(world, client):
    plan = Plan.objects.create(**PLAN)
    client.force_login(world.operator)
    page = client.get("/operator/tenants/acme/").content.decode()
    assert 'id="plan-card"' in page and "Gold" in page
    assert ratelimit.limits_for(world.acme.pk).name != "Gold"

    response = client.post("/operator/tenants/acme/plan/", {"plan": plan.pk})
    assert response.status_code == 302
    assert TenantPlan.objects.get(tenant=world.acme).plan == plan
    assert ratelimit.limits_for(world.acme.pk).burst == 400  # this process forgot the cached plan
    event = AuditEvent.objects.get(action="plan.assign")
    assert event.tenant == world.acme and event.changes == {"plan": [None, "Gold"]}

    client.post("/operator/tenants/acme/plan/", {"plan": ""})
    assert not TenantPlan.objects.filter(tenant=world.acme).exists()
    assert ratelimit.limits_for(world.acme.pk).name != "Gold"


def test_the_operator_api_manages_plans(world, api):
    api.as_user(world.user("owner"))
    assert api.get("/api/v1/operator/plans/").status_code == 403
    api.as_user(world.operator)
    created = api.post("/api/v1/operator/plans/", PLAN, format="json")
    assert created.status_code == 201, created.content
    plan_id = created.json()["id"]
    changed = api.patch(f"/api/v1/operator/plans/{plan_id}/", {"daily_quota": 10}, format="json")
    assert changed.json()["daily_quota"] == 10
    clash = api.post("/api/v1/operator/plans/", {**PLAN, "name": "gold"}, format="json")
    assert clash.status_code == 400 and clash.json()["code"] == "plan_name_taken"

    assigned = api.post(f"/api/v1/operator/plans/{plan_id}/assign/", {"tenant": "acme"}, format="json")
    assert assigned.json() == {"tenant": "acme", "plan": "Gold", "assigned": True}
    in_force = api.get("/api/v1/operator/plans/", {"tenant": "acme"}).json()["results"]
    assert [(p["name"], p["tenant_count"]) for p in in_force] == [("Gold", 1)]
    back = api.post("/api/v1/operator/plans/unassign/", {"tenant": "acme"}, format="json").json()
    assert back["assigned"] is False and back["plan"] != "Gold"
    actions = list(AuditEvent.objects.filter(action__startswith="plan.").values_list("action", flat=True))
    assert sorted(actions) == ["plan.assign", "plan.assign", "plan.create", "plan.update"]


def test_keys_never_reach_the_plan_api(world, api):
    api.with_key(world.key("owner"))
    assert api.get("/api/v1/operator/plans/").status_code == 403
