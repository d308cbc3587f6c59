"""A host belongs to one tenant platform-wide; the portal's own names and reserved domains are refused."""

import threading

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.catalog.models import Release
from apps.core.errors import ApplicationError
from apps.tenants.claims import HOST_RESERVED, HOST_TAKEN, domain_reserve, host_claim
from apps.tenants.models import DomainReservation, HostClaim
from tests.deployments.conftest import make_app

WEB = {"image": "registry.example/shop:1", "ports": [{"name": "http", "port": 8080}]}


def cut(api, world, tenant, host, path="/"):
    app = make_app(getattr(world, tenant), "shop")
    api.as_user(world.user("developer", tenant))
    return api.post(
        "/api/v1/releases/",
        {**WEB, "tenant": tenant, "application": app.pk, "ingress_host": host, "ingress_path": path},
        format="json",
    )


def refused(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and "ingress_host" in body["fields"], body
    return body


@pytest.fixture
def portal_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "portal.example.com"]
    settings.PORTAL_URL = "https://portal.example.com"
    return "portal.example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["portal.example.com", "api.portal.example.com"])
def test_the_portals_own_host_cannot_be_routed_to_an_application(api, world, portal_host, host):
    body = refused(cut(api, world, "acme", host, "/accounts/login"), 400, HOST_RESERVED)
    assert "belongs to the platform" in body["detail"]
    assert not Release.objects.exists() and not HostClaim.objects.exists()


@pytest.mark.django_db
def test_a_host_belongs_to_the_first_tenant_that_names_it(api, world):
    assert cut(api, world, "acme", "shop.example.com").status_code == 201
    assert cut(api, world, "acme", "shop.example.com").status_code == 201  # its own host again
    body = refused(cut(api, world, "globex", "shop.example.com"), 409, HOST_TAKEN)
    assert "another organization" in body["detail"]
    assert HostClaim.objects.get(host="shop.example.com").tenant == world.acme
    assert set(Release.objects.values_list("ingress_host", flat=True)) == {"shop.example.com"}
    assert not Release.objects.filter(tenant=world.globex).exists()


@pytest.mark.django_db
def test_reserved_domains_keep_hosts_for_one_tenant_or_for_nobody(api, world):
    domain_reserve(operator=world.operator_principal, domain="acme.example.com", tenant=world.acme)
    domain_reserve(operator=world.operator_principal, domain="internal.example.com", note="platform services")
    refused(cut(api, world, "globex", "shop.acme.example.com"), 409, HOST_TAKEN)
    assert cut(api, world, "acme", "shop.acme.example.com").status_code == 201
    refused(cut(api, world, "acme", "grafana.internal.example.com"), 400, HOST_RESERVED)
    refused(cut(api, world, "acme", "internal.example.com"), 400, HOST_RESERVED)
    assert AuditEvent.objects.filter(action="domain.reserve").count() == 2


@pytest.mark.django_db
def test_a_domain_cannot_be_reserved_over_another_tenants_hosts(world):
    host_claim(tenant=world.globex, host="api.acme.example.com")
    with pytest.raises(ApplicationError) as error:
        domain_reserve(operator=world.operator_principal, domain="acme.example.com", tenant=world.acme)
    assert error.value.code == "domain_taken" and "api.acme.example.com" in error.value.message
    domain_reserve(
        operator=world.operator_principal, domain="acme.example.com", tenant=world.globex
    )  # its own hosts: fine


@pytest.mark.django_db(transaction=True)
def test_two_tenants_racing_for_a_host_end_with_one_owner(world):
    barrier, outcomes = threading.Barrier(2), {}

    def claim(tenant):
        try:
            barrier.wait()
            host_claim(tenant=tenant, host="race.example.com")
            outcomes[tenant.slug] = "claimed"
        except ApplicationError as error:
            outcomes[tenant.slug] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(tenant,)) for tenant in (world.acme, world.globex)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes.values()) == ["claimed", HOST_TAKEN]
    winner = HostClaim.objects.get(host="race.example.com").tenant.slug
    assert outcomes[winner] == "claimed"


# --- Operators ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_operators_reserve_and_release_domains_through_the_api(api, world):
    api.as_user(world.operator)
    response = api.post("/api/v1/operator/domains/", {"domain": "Acme.Example.com", "tenant": "acme"}, format="json")
    assert response.status_code == 201 and response.json()["domain"] == "acme.example.com"
    assert api.post("/api/v1/operator/domains/", {"domain": "acme.example.com"}, format="json").status_code == 409
    body = api.post("/api/v1/operator/domains/", {"domain": "not a domain"}, format="json").json()
    assert body["code"] == "invalid" and "domain" in body["fields"]
    listed = api.get("/api/v1/operator/domains/").json()["results"]
    assert [(row["domain"], row["tenant"]) for row in listed] == [("acme.example.com", "acme")]
    assert api.delete(f"/api/v1/operator/domains/{listed[0]['id']}/").status_code == 204
    assert not DomainReservation.objects.exists()
    assert AuditEvent.objects.filter(action="domain.release").exists()

    api.as_user(world.user("owner"))
    assert api.post("/api/v1/operator/domains/", {"domain": "mine.example.com"}, format="json").status_code == 403
    api.with_key(world.key("owner"))
    assert api.get("/api/v1/operator/domains/").status_code in (401, 403)


@pytest.mark.django_db
def test_the_operator_domains_page_reserves_and_lists(client, world):
    client.force_login(world.operator)
    response = client.post("/operator/domains/", {"domain": "globex.example.com", "tenant": "globex", "note": "theirs"})
    assert response.status_code == 302
    host_claim(tenant=world.globex, host="www.globex.example.com")
    page = client.get("/operator/domains/").content.decode()
    assert "globex.example.com" in page and "www.globex.example.com" in page and "theirs" in page
    response = client.post("/operator/domains/", {"domain": "globex.example.com"})
    assert response.status_code == 400 and "already reserved" in response.content.decode()
    client.force_login(world.user("owner"))
    assert client.get("/operator/domains/").status_code == 404


@pytest.mark.django_db
def test_the_environments_page_shows_the_tenants_domains_and_hosts_only(client, world):
    domain_reserve(operator=world.operator_principal, domain="acme.example.com", tenant=world.acme)
    host_claim(tenant=world.acme, host="shop.acme.example.com")
    host_claim(tenant=world.globex, host="api.globex.example.com")
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/environments/").content.decode()
    assert "<code>acme.example.com</code>" in page and "<code>shop.acme.example.com</code>" in page
    assert "globex.example.com" not in page


@pytest.mark.django_db
def test_a_release_naming_another_tenants_host_cannot_be_deployed(api, world):
    """Releases cut before hosts were claims may name a host that another tenant holds now."""
    from tests.deployments.conftest import make_release

    host_claim(tenant=world.acme, host="shop.example.com")
    legacy = make_release(make_app(world.globex, "shop"), ingress_host="shop.example.com")
    api.as_user(world.user("developer", "globex"))
    response = api.post(
        "/api/v1/deployments/",
        {"tenant": "globex", "release": legacy.pk, "environment": world.globex.environments.get(name="dev").pk},
        format="json",
    )
    refused(response, 409, HOST_TAKEN)


@pytest.mark.django_db
def test_a_host_above_or_below_another_tenants_host_is_theirs_too(api, world):
    """A host can set cookies for the domains above it, which the hosts below them read."""
    assert cut(api, world, "acme", "shop.acme.example.com").status_code == 201
    body = refused(cut(api, world, "globex", "www.shop.acme.example.com"), 409, HOST_TAKEN)
    assert "shop.acme.example.com" in body["detail"]
    refused(cut(api, world, "globex", "acme.example.com"), 409, HOST_TAKEN)
    assert cut(api, world, "acme", "www.shop.acme.example.com").status_code == 201  # its own, below its own
    assert cut(api, world, "globex", "shop.globex.example.com").status_code == 201  # a sibling domain is free


@pytest.mark.django_db
def test_hosts_are_tidied_and_addresses_refused(api, world):
    response = cut(api, world, "acme", "SHOP.Acme.Example.com.")
    assert response.status_code == 201 and response.json()["ingress_host"] == "shop.acme.example.com"
    refused(cut(api, world, "acme", "10.0.0.1"), 400, "invalid")
    with pytest.raises(ApplicationError):
        domain_reserve(operator=world.operator_principal, domain="127.0.0.1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "host",
    [
        "co.uk",
        "github.io",
        "svc.cluster.local",
        "kubernetes.default.svc",
        "paas-portal.paas-portal.svc.cluster.local",
        "127.0.0.1.nip.io",
    ],
)
def test_public_suffixes_and_cluster_internal_names_are_nobodys(api, world, host):
    refused(cut(api, world, "globex", host), 400, HOST_RESERVED)
    assert not HostClaim.objects.exists()


@pytest.mark.django_db
def test_a_claim_stops_at_the_registrable_domain(api, world):
    assert cut(api, world, "globex", "www.globex.co.uk").status_code == 201
    assert cut(api, world, "acme", "shop.acme.co.uk").status_code == 201  # a sibling under co.uk is free


@pytest.mark.django_db
def test_operators_take_a_squatted_host_back(api, world, client):
    squatted = host_claim(tenant=world.globex, host="acme.example.com")
    refused(cut(api, world, "acme", "shop.acme.example.com"), 409, HOST_TAKEN)
    api.as_user(world.operator)
    listed = api.get("/api/v1/operator/host-claims/").json()["results"]
    assert [(row["host"], row["tenant"]) for row in listed] == [("acme.example.com", "globex")]
    assert api.delete(f"/api/v1/operator/host-claims/{squatted.pk}/").status_code == 204
    assert AuditEvent.objects.filter(action="host.release").exists()
    assert cut(api, world, "acme", "shop.acme.example.com").status_code == 201
    claim = HostClaim.objects.get(host="shop.acme.example.com")
    client.force_login(world.operator)
    assert client.post(f"/operator/domains/hosts/{claim.pk}/release/").status_code == 302
    assert not HostClaim.objects.filter(pk=claim.pk).exists()
    client.force_login(world.user("owner"))
    assert client.post(f"/operator/domains/hosts/{squatted.pk}/release/").status_code == 404
