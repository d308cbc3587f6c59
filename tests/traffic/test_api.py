"""The routes API: create, read, change, delete; host ownership; bad input; governed environments."""

import pytest
from django.urls import reverse

from apps.approvals.models import ChangeRequest
from apps.audit.models import AuditEvent
from apps.tenants.claims import HOST_TAKEN, domain_reserve, host_claim
from apps.tenants.models import HostClaim
from apps.tenants.roles import Role
from apps.traffic.models import Route
from tests.approvals.conftest import govern

from .conftest import body

pytestmark = pytest.mark.django_db

URL = "/api/v1/routes/"


def test_a_developer_adds_reads_changes_and_deletes_a_route(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    created = api.post(URL, body(path="/api", rate_limit_rps=20, rate_limit_burst=100), format="json")
    assert created.status_code == 201, created.content
    route = created.json()
    assert (route["host"], route["path"], route["environment"], route["application"]) == (
        "shop.acme-corp.com",
        "/api",
        "dev",
        "shop",
    )
    assert route["service_port"] == 8080 and route["name"] == "shop" and route["state"] == "pending"
    assert HostClaim.objects.get(host="shop.acme-corp.com").tenant == world.acme

    detail = f"{URL}{route['id']}/"
    assert api.get(detail).json()["rate_limit_burst"] == 100
    changed = api.patch(
        detail, {"read_timeout_seconds": 30, "cors_allow_origins": ["https://app.acme-corp.com"]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["read_timeout_seconds"] == 30
    assert api.get(URL, {"environment": "dev"}).json()["results"][0]["id"] == route["id"]

    assert api.delete(detail).status_code == 204
    assert not Route.objects.exists()
    assert HostClaim.objects.filter(host="shop.acme-corp.com").exists()  # the host stays the tenant's
    actions = list(AuditEvent.objects.filter(action__startswith="route.").values_list("action", flat=True))
    assert sorted(actions) == ["route.create", "route.delete", "route.update"]


def test_a_host_another_tenant_holds_is_a_409_and_nothing_is_stored(api, world, shop):
    host_claim(tenant=world.globex, host="shop.acme-corp.com")
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(URL, body(), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == HOST_TAKEN and "host" in response.json()["fields"]
    assert not Route.objects.exists()


def test_another_tenants_route_is_a_404(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    route_id = api.post(URL, body(), format="json").json()["id"]
    api.as_user(world.outsider)
    for response in (
        api.get(f"{URL}{route_id}/"),
        api.patch(f"{URL}{route_id}/", {"path": "/x"}, format="json"),
        api.delete(f"{URL}{route_id}/"),
    ):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert api.get(URL).json()["results"] == []
    # naming acme's environment or application from globex finds nothing either
    refused = api.post(URL, {**body(), "tenant": "acme"}, format="json")
    assert refused.status_code == 400 and Route.objects.count() == 1


def test_a_viewer_reads_but_cannot_write(api, world, shop):
    api.as_user(world.user(Role.VIEWER))
    assert api.post(URL, body(), format="json").status_code == 403
    assert api.get(URL).status_code == 200


BAD_INPUT = [
    ({"host": "not a host"}, "host"),
    ({"host": "shop_acme.com"}, "host"),
    ({"host": "10.0.0.1"}, "host"),
    ({"host": "*.acme-corp.com"}, "host"),  # a wildcard under a domain not reserved for acme
    ({"path": "api"}, "path"),
    ({"path": "/a b"}, "path"),
    ({"tls": "secret", "tls_secret": "other-team--prod/shop-cert"}, "tls_secret"),
    ({"tls": "secret", "tls_secret": ""}, "tls_secret"),
    ({"tls": "issue"}, "cert_issuer"),
    ({"rate_limit_rps": 0}, "rate_limit_rps"),
    ({"rate_limit_rps": 10001}, "rate_limit_rps"),
    ({"rate_limit_rps": 10, "rate_limit_burst": 5}, "rate_limit_burst"),
    ({"rate_limit_burst": 50}, "rate_limit_burst"),
    ({"rate_limit_connections": -1}, "rate_limit_connections"),
    ({"read_timeout_seconds": 3601}, "read_timeout_seconds"),
    ({"max_body_size_mb": 0}, "max_body_size_mb"),
    ({"cors_allow_origins": ["not an origin"]}, "cors_allow_origins"),
    ({"cors_allow_origins": ["*", "https://a.example.com"]}, "cors_allow_origins"),
    ({"auth": "password"}, "auth"),
    ({"path_type": "regex"}, "path_type"),
    ({"name": "Not_A_Label"}, "name"),
    ({"service_port": 70000}, "service_port"),
]


@pytest.mark.parametrize("fields, field", BAD_INPUT, ids=[field for _, field in BAD_INPUT])
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(api, world, shop, fields, field):
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(URL, body(**fields), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Route.objects.exists()
    assert not HostClaim.objects.exists()


def test_every_bad_field_is_named_at_once(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(URL, body(host="bad host", path="x", rate_limit_rps=0), format="json")
    assert response.status_code == 400
    assert {"host", "path", "rate_limit_rps"} <= set(response.json()["fields"])


def test_a_path_another_route_serves_on_the_host_is_a_400(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    assert api.post(URL, body(path="/api"), format="json").status_code == 201
    again = api.post(URL, body(path="/api", name="shop-again"), format="json")
    assert again.status_code == 400 and again.json()["code"] == "path_conflict" and "path" in again.json()["fields"]
    elsewhere = api.post(URL, body(path="/api", environment="staging"), format="json")
    assert elsewhere.status_code == 400 and "path" in elsewhere.json()["fields"]
    assert api.post(URL, body(path="/web", name="shop-web"), format="json").status_code == 201
    first = Route.objects.get(path="/api")
    moved = api.patch(f"{URL}{first.pk}/", {"path": "/web"}, format="json")
    assert moved.status_code == 400 and "path" in moved.json()["fields"]
    first.refresh_from_db()
    assert first.path == "/api"


def test_a_wildcard_host_under_a_domain_reserved_for_the_tenant(api, world, shop):
    domain_reserve(operator=world.operator_principal, domain="acme-corp.com", tenant=world.acme)
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(URL, body(host="*.acme-corp.com"), format="json")
    assert response.status_code == 201, response.content
    domain_reserve(operator=world.operator_principal, domain="globex-corp.com", tenant=world.globex)
    refused = api.post(URL, body(host="*.globex-corp.com", name="other"), format="json")
    assert refused.status_code == 400 and "host" in refused.json()["fields"]


def test_a_tls_secret_named_with_its_own_namespace_is_kept_by_name(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    namespace = world.acme.environments.get(name="dev").namespace
    response = api.post(URL, body(tls="secret", tls_secret=f"{namespace}/shop-cert"), format="json")
    assert response.status_code == 201 and response.json()["tls_secret"] == "shop-cert"


def test_routes_in_a_governed_environment_wait_for_approval(api, world, shop):
    prod = world.acme.environments.get(name="prod")
    govern(world, prod, ("owners", 1, [Role.OWNER], []))
    api.as_user(world.user(Role.DEVELOPER))
    refused = api.post(URL, body(environment="prod"), format="json")
    assert refused.status_code == 400 and "justification" in refused.json()["fields"]
    assert not Route.objects.exists()

    waiting = api.post(URL, body(environment="prod", justification="launch"), format="json")
    assert waiting.status_code == 202, waiting.content
    request = ChangeRequest.objects.get(pk=waiting.json()["change_request"])
    assert request.kind == "route" and request.params["op"] == "create"
    route = Route.objects.get(pk=waiting.json()["id"])
    assert route.state == Route.State.WAITING

    change = api.patch(f"{URL}{route.pk}/", {"rate_limit_rps": 5, "justification": "calm"}, format="json")
    assert change.status_code == 202
    route.refresh_from_db()
    assert route.rate_limit_rps is None  # unchanged until approved

    from apps.approvals.services.requests import change_request_decide, change_request_execute

    update = ChangeRequest.objects.get(pk=change.json()["change_request"])
    change_request_decide(actor=world.principal(Role.OWNER), change_request=update, verdict="approve")
    change_request_execute(change_request=update)  # what the task that carries approved changes out runs
    route.refresh_from_db()
    assert route.rate_limit_rps == 5


def test_a_rejected_new_route_is_removed(world, shop):
    from apps.approvals.services.requests import change_request_decide
    from apps.traffic.services import route_create

    prod = world.acme.environments.get(name="prod")
    govern(world, prod, ("owners", 1, [Role.OWNER], []))
    route = route_create(
        actor=world.principal(Role.DEVELOPER),
        tenant=world.acme,
        environment=prod,
        application=shop,
        host="shop.acme-corp.com",
        justification="launch",
    )
    assert route.change_request is not None
    change_request_decide(actor=world.principal(Role.OWNER), change_request=route.change_request, verdict="reject")
    assert not Route.objects.filter(pk=route.pk).exists()


def test_the_schema_lists_the_routes_api(api, world):
    api.as_user(world.user(Role.OWNER))
    schema = api.get(reverse("api-schema"), {"format": "json"}).json()
    assert "/api/v1/routes/" in schema["paths"] and "/api/v1/routes/{id}/" in schema["paths"]
