"""The operator console's tenant pages and platform audit trail: staff only, every look recorded."""

import pytest

from apps.audit.models import AuditEvent
from apps.core.audit import audit_record
from apps.tenants.models import Environment, Quota, Tenant
from apps.tenants.roles import Role
from tests.factories import APIKeyFactory, EnvironmentFactory, MembershipFactory, QuotaFactory, TenantFactory


@pytest.fixture
def acme(db):
    tenant = TenantFactory(slug="acme", name="Acme Corp")
    EnvironmentFactory(tenant=tenant, name="dev")
    return tenant


@pytest.fixture
def admin(acme):
    return MembershipFactory(tenant=acme, role=Role.ADMIN, user__email="admin@acme.test").user


@pytest.fixture
def developer(acme):
    """A tenant member without staff rights: the console does not exist for them."""
    return MembershipFactory(tenant=acme, role=Role.DEVELOPER, user__email="developer@acme.test").user


def test_non_staff_get_404_on_every_console_page(client, developer, acme):
    client.force_login(developer)
    for url in ["/operator/tenants/", "/operator/tenants/acme/", "/operator/audit/", "/operator/audit/?format=csv"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/operator/tenants/acme/quota/", {"resource": "pods", "limit": "1"}).status_code == 404
    assert client.post("/operator/tenants/acme/status/", {"status": "suspended", "reason": "x"}).status_code == 404
    acme.refresh_from_db()
    assert acme.is_active and not Quota.objects.exists()


def test_operator_lists_every_tenant(client, operator, acme, developer):
    TenantFactory(slug="globex", name="Globex", status=Tenant.Status.SUSPENDED)
    client.force_login(operator)
    page = client.get("/operator/tenants/").content.decode()
    assert 'href="/operator/tenants/acme/"' in page and "Globex" in page and "suspended" in page
    assert "Acme" in client.get("/operator/tenants/?q=acm").content.decode()
    assert "Globex" not in client.get("/operator/tenants/?q=acm").content.decode()


def test_viewing_a_tenant_is_audited(client, operator, acme, admin):
    client.force_login(operator)
    page = client.get("/operator/tenants/acme/").content.decode()
    assert "admin@acme.test" in page and "acme--dev" in page and "Whole tenant" in page
    event = AuditEvent.objects.get(action="operator.view_tenant")
    assert (event.actor, event.tenant, event.object_display) == (operator, acme, "Acme Corp")


def test_operator_sets_tenant_and_environment_quotas(client, operator, acme):
    dev = Environment.objects.get(tenant=acme, name="dev")
    client.force_login(operator)
    assert client.post("/operator/tenants/acme/quota/", {"resource": "api_keys", "limit": "5"}).status_code == 302
    response = client.post("/operator/tenants/acme/quota/", {"resource": "cpu", "environment": dev.pk, "limit": "500"})
    assert response.status_code == 302
    assert Quota.objects.get(tenant=acme, environment=None, resource="api_keys").limit == 5
    assert Quota.objects.get(tenant=acme, environment=dev, resource="cpu").limit == 500
    assert AuditEvent.objects.filter(action="quota.set", tenant=acme).count() == 2


def test_a_quota_below_usage_is_refused_with_the_reason(client, operator, acme, admin):
    QuotaFactory(tenant=acme, resource="api_keys", limit=10)
    APIKeyFactory.create_batch(3, tenant=acme, user=admin)
    client.force_login(operator)
    response = client.post("/operator/tenants/acme/quota/", {"resource": "api_keys", "limit": "2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "3 already in use; the limit cannot be lower than that." in page and 'value="2"' in page
    assert Quota.objects.get(tenant=acme, resource="api_keys").limit == 10


def test_suspending_needs_a_reason_and_makes_the_tenant_read_only(client, operator, acme, admin):
    client.force_login(operator)
    response = client.post("/operator/tenants/acme/status/", {"status": "suspended", "reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    acme.refresh_from_db()
    assert acme.is_active

    response = client.post("/operator/tenants/acme/status/", {"status": "suspended", "reason": "unpaid invoice"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.status == Tenant.Status.SUSPENDED
    event = AuditEvent.objects.get(action="tenant.suspend")
    assert event.changes["reason"] == [None, "unpaid invoice"]

    client.force_login(admin)
    assert 'id="suspended-banner"' in client.get("/t/acme/").content.decode()
    response = client.post("/t/acme/environments/", {"name": "qa", "kind": "non_production"})
    assert response.status_code == 400 and "suspended and read-only" in response.content.decode()
    assert not Environment.objects.filter(tenant=acme, name="qa").exists()

    client.force_login(operator)
    client.post("/operator/tenants/acme/status/", {"status": "active", "reason": "paid"})
    client.force_login(admin)
    assert client.post("/t/acme/environments/", {"name": "qa", "kind": "non_production"}).status_code == 302


def test_platform_audit_trail_spans_tenants_and_filters_by_tenant(client, operator, acme, admin):
    globex = TenantFactory(slug="globex")
    audit_record(actor=admin, action="environment.create", obj=acme.environments.first())
    audit_record(actor=operator, action="quota.set", obj=globex)
    audit_record(actor=None, action="platform.heartbeat")
    client.force_login(operator)
    page = client.get("/operator/audit/").content.decode()
    assert "environment.create" in page and "quota.set" in page and "platform.heartbeat" in page
    page = client.get("/operator/audit/?tenant=globex").content.decode()
    assert "quota.set" in page and "environment.create" not in page
    export = client.get("/operator/audit/?tenant=acme&format=csv").content.decode()
    assert "environment.create" in export and "quota.set" not in export


def test_console_links_reach_the_tenant_pages(client, operator):
    client.force_login(operator)
    page = client.get("/operator/").content.decode()
    assert 'href="/operator/tenants/"' in page and 'href="/operator/audit/"' in page
