"""The operator API: staff only, never through a key, every tenant read audited."""

import pytest

from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ROUTES = ["/api/v1/operator/tenants/", "/api/v1/operator/quotas/", "/api/v1/operator/audit-events/"]


def test_anonymous_401_member_403_operator_200(world, api):
    for route in ROUTES:
        assert api.get(route).status_code == 401
    api.as_user(world.user("owner"))
    for route in ROUTES:
        assert api.get(route).status_code == 403
    api.as_user(world.operator)
    for route in ROUTES:
        assert api.get(route).status_code == 200


def test_keys_never_reach_the_operator_api(world, api):
    from apps.tenants.models import Membership

    Membership.objects.create(tenant=world.acme, user=world.operator, role="owner")
    api.with_key(world.key("owner")).get(ROUTES[0])
    from apps.apikeys.services import apikey_create

    _, key = apikey_create(actor=world.operator_principal, tenant=world.acme, name="ops", scopes=["tenant:read"])
    assert api.with_key(key).get(ROUTES[0]).status_code == 403


def test_operator_sees_every_tenant_and_each_look_is_audited(world, api):
    api.as_user(world.operator)
    slugs = {t["slug"] for t in api.get(ROUTES[0]).json()["results"]}
    assert slugs == {"acme", "globex"}
    assert api.get("/api/v1/operator/tenants/globex/").json()["member_count"] == 4
    event = AuditEvent.objects.get(action="operator.view_tenant")
    assert event.tenant == world.globex and event.actor == world.operator


def test_quota_below_usage_is_refused(world, api):
    world.key("developer")
    world.key("viewer")
    api.as_user(world.operator)
    response = api.post(
        "/api/v1/operator/quotas/", {"tenant": "acme", "resource": "api_keys", "limit": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "quota_below_usage" and "limit" in response.json()["fields"]
    response = api.post(
        "/api/v1/operator/quotas/",
        {"tenant": "acme", "environment": "prod", "resource": "pods", "limit": 30},
        format="json",
    )
    assert response.status_code == 201 and response.json()["environment"] == "prod"


def test_suspend_and_activate_need_a_reason(world, api):
    api.as_user(world.operator)
    assert api.post("/api/v1/operator/tenants/acme/suspend/", {}, format="json").status_code == 400
    response = api.post("/api/v1/operator/tenants/acme/suspend/", {"reason": "abuse report"}, format="json")
    assert response.json()["status"] == "suspended"
    event = AuditEvent.objects.get(action="tenant.suspend")
    assert event.changes["reason"] == [None, "abuse report"]
    assert (
        api.post("/api/v1/operator/tenants/acme/activate/", {"reason": "resolved"}, format="json").json()["status"]
        == "active"
    )
