"""Names, not numbers, in list filters too: `?environment=dev` and `?application=shop` wherever a list
filters by an environment or an application (ids keep working). A name is looked up only in the
caller's tenants: one that names nothing there, another tenant's included, is a 400 naming the filter."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.approvals.models import ApprovalPolicy, FreezeWindow
from apps.catalog.models import Application
from apps.deployments.services import deployment_create
from apps.tenants.roles import Role, scopes_for_role
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db

# (list, filter): every list that filters by a related environment or application.
NAMED_FILTERS = [
    ("/api/v1/deployments/", "environment"),
    ("/api/v1/deployments/", "application"),
    ("/api/v1/releases/", "application"),
    ("/api/v1/builds/", "application"),
    ("/api/v1/approval-policies/", "environment"),
    ("/api/v1/freeze-windows/", "environment"),
    ("/api/v1/change-requests/", "environment"),
    ("/api/v1/deploy-settings/", "environment"),
    ("/api/v1/workloads/", "environment"),
    ("/api/v1/workloads/", "application"),
    ("/api/v1/service-instances/", "environment"),
    ("/api/v1/service-bindings/", "application"),
]


@pytest.fixture
def owner_api(api, world):
    return api.with_key(world.key(Role.OWNER))


@pytest.fixture
def deployed(world):
    """shop in dev and staging, web in dev, all in acme; globex has its own shop in dev."""
    owner = world.principal(Role.OWNER)
    shop, web = make_app(world.acme, "shop"), make_app(world.acme, "web")
    rows = {}
    for app, environment in ((shop, "dev"), (shop, "staging"), (web, "dev")):
        rows[app.name, environment], _ = deployment_create(
            actor=owner, release=make_release(app), environment=world.acme.environments.get(name=environment)
        )
    deployment_create(
        actor=world.principal(Role.OWNER, "globex"),
        release=make_release(make_app(world.globex, "secret")),
        environment=world.globex.environments.get(name="dev"),
    )
    return rows


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_deployments_filter_by_environment_and_application_names(owner_api, world, deployed):
    assert _ids(owner_api.get("/api/v1/deployments/", {"environment": "dev"})) == {
        deployed["shop", "dev"].pk,
        deployed["web", "dev"].pk,
    }
    assert _ids(owner_api.get("/api/v1/deployments/", {"application": "shop", "environment": "staging"})) == {
        deployed["shop", "staging"].pk
    }
    dev = world.acme.environments.get(name="dev")
    assert _ids(owner_api.get("/api/v1/deployments/", {"environment": dev.pk})) == _ids(
        owner_api.get("/api/v1/deployments/", {"environment": "dev"})
    )


def test_a_developer_key_without_environments_read_filters_by_environment_name(api, world, deployed):
    scopes = [scope for scope in scopes_for_role(Role.DEVELOPER) if scope != "environments:read"]
    developer_api = api.with_key(world.key(Role.DEVELOPER, scopes=scopes))
    assert developer_api.get("/api/v1/environments/").status_code == 403
    assert _ids(developer_api.get("/api/v1/deployments/", {"environment": "staging"})) == {
        deployed["shop", "staging"].pk
    }


def test_releases_filter_by_application_name(owner_api, world, deployed):
    shop = Application.objects.get(tenant=world.acme, name="shop")
    assert _ids(owner_api.get("/api/v1/releases/", {"application": "shop"})) == set(
        shop.releases.values_list("pk", flat=True)
    )


def test_approval_lists_filter_by_environment_name(owner_api, world):
    prod = world.acme.environments.get(name="prod")
    policies = set(ApprovalPolicy.objects.filter(environment=prod).values_list("pk", flat=True))
    assert _ids(owner_api.get("/api/v1/approval-policies/", {"environment": "prod"})) == policies
    FreezeWindow.objects.create(
        tenant=world.acme,
        environment=prod,
        name="Release freeze",
        starts_at="2030-01-01T00:00Z",
        ends_at="2030-01-02T00:00Z",
    )
    assert len(_ids(owner_api.get("/api/v1/freeze-windows/", {"environment": "prod"}))) == 1
    assert _ids(owner_api.get("/api/v1/freeze-windows/", {"environment": "dev"})) == set()


@pytest.mark.parametrize("url, name", NAMED_FILTERS)
def test_a_name_that_names_nothing_in_the_callers_tenants_is_a_400(owner_api, deployed, url, name):
    """globex's application "secret" and an application nobody has get the same answer."""
    foreign, unknown = ("secret", "nothing") if name == "application" else ("qa", "nowhere")
    if name == "environment":
        foreign = "globex-only"
        from apps.tenants.models import Environment, Tenant

        globex = Tenant.objects.get(slug="globex")
        Environment.objects.create(tenant=globex, name=foreign, kind="non_production", namespace="globex--only")
    answers = [owner_api.get(url, {name: value}) for value in (foreign, unknown)]
    assert [r.status_code for r in answers] == [400, 400], [r.content for r in answers]
    bodies = [r.json() for r in answers]
    assert bodies[0]["fields"] == {name: [f"No {name} named “{foreign}” in your tenants."]}
    assert bodies[1]["fields"] == {name: [f"No {name} named “{unknown}” in your tenants."]}


@pytest.mark.parametrize("url, name", NAMED_FILTERS)
def test_a_name_in_the_callers_tenant_filters_and_an_id_still_does(owner_api, world, deployed, url, name):
    value = "dev" if name == "environment" else "shop"
    assert owner_api.get(url, {name: value}).status_code == 200
    rows = world.acme.environments if name == "environment" else Application.objects.filter(tenant=world.acme)
    row = rows.get(name=value)
    assert owner_api.get(url, {name: row.pk}).status_code == 200


def test_tenant_narrows_where_a_name_is_looked_up(api, world, deployed):
    from apps.tenants.models import Membership

    Membership.objects.create(tenant=world.globex, user=world.user(Role.OWNER), role=Role.OWNER)
    api.as_user(world.user(Role.OWNER))
    both = _ids(api.get("/api/v1/deployments/", {"environment": "dev"}))
    assert len(both) == 3  # acme's two and globex's one: "dev" in each of the caller's tenants
    assert len(_ids(api.get("/api/v1/deployments/", {"environment": "dev", "tenant": "globex"}))) == 1
    response = api.get("/api/v1/deployments/", {"application": "shop", "tenant": "globex"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"application": ["No application named “shop” in tenant globex."]}


def test_the_schema_says_id_or_name():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for url, name in NAMED_FILTERS:
        parameters = {p["name"]: p for p in schema["paths"][url]["get"]["parameters"]}
        types = [option["type"] for option in parameters[name]["schema"]["oneOf"]]
        assert types == ["integer", "string"], (url, name)
        assert "by name" in parameters[name]["description"]


def test_the_workloads_page_filters_by_name_and_an_unknown_one_is_an_empty_list(client, world):
    """The page shares the API's filters but not its 400: a page's filter that matches nothing is empty."""
    client.force_login(world.user(Role.VIEWER))
    for query in ("environment=dev", "application=shop", "environment=nowhere", f"environment={10**6}"):
        response = client.get(f"/t/acme/workloads/?{query}")
        assert response.status_code == 200, query
