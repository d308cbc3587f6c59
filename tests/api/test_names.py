"""Names, not numbers: wherever the API takes an environment, application or release id it also takes
the name (a release by its number within a named application). Ids keep working; another tenant's
name is refused exactly like a missing one."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.approvals.models import FreezeWindow
from apps.catalog.models import Release
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from apps.tenants.models import Membership
from apps.tenants.roles import Role, scopes_for_role
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def developer_api(api, world):
    """A developer key that cannot read environments: it never learns their ids."""
    scopes = [scope for scope in scopes_for_role(Role.DEVELOPER) if scope != "environments:read"]
    return api.with_key(world.key(Role.DEVELOPER, scopes=scopes))


def _deploy(api, **body):
    return api.post("/api/v1/deployments/", {"tenant": "acme", **body}, format="json")


def test_a_developer_key_without_environments_read_deploys_by_name(developer_api, world):
    shop = make_app(world.acme, "shop")
    make_release(shop)
    second = make_release(shop)
    assert developer_api.get("/api/v1/environments/").status_code == 403

    response = _deploy(developer_api, application="shop", release=2, environment="dev")

    assert response.status_code == 201, response.content
    deployment = Deployment.objects.get(pk=response.json()["id"])
    assert (deployment.release, deployment.environment.name) == (second, "dev")


def test_ids_keep_working(developer_api, world):
    release = make_release(make_app(world.acme, "shop"))
    dev = world.acme.environments.get(name="dev")
    response = _deploy(developer_api, release=release.pk, environment=dev.pk)
    assert response.status_code == 201, response.content
    assert response.json()["environment"] == dev.pk and response.json()["release"] == release.pk


def test_another_tenants_names_and_ids_read_as_missing_ones(developer_api, world):
    make_release(make_app(world.acme, "shop"))
    theirs = make_release(make_app(world.globex, "secret"))
    globex_only = world.globex.environments.get(name="dev")

    foreign = _deploy(developer_api, application="secret", release=1, environment="dev").json()
    missing = _deploy(developer_api, application="nothing", release=1, environment="dev").json()
    assert foreign["fields"] == {"application": ["No application named “secret” in acme."]}
    assert missing["fields"] == {"application": ["No application named “nothing” in acme."]}

    foreign = _deploy(developer_api, release=theirs.pk, environment=globex_only.pk).json()
    missing = _deploy(developer_api, release=10**9, environment=10**9).json()
    assert foreign["fields"] == {
        "release": [f"No release with id {theirs.pk}."],
        "environment": [f"No environment with id {globex_only.pk}."],
    }
    assert missing["fields"] == {
        "release": [f"No release with id {10**9}."],
        "environment": [f"No environment with id {10**9}."],
    }
    # Naming the other tenant does not help: the key cannot reach it.
    response = developer_api.post(
        "/api/v1/deployments/", {"tenant": "globex", "release": theirs.pk, "environment": "dev"}, format="json"
    )
    assert response.status_code == 400 and "tenant" in response.json()["fields"]
    assert not Deployment.objects.exists()


def test_a_release_number_needs_its_application_and_a_wrong_one_says_so(developer_api, world):
    make_release(make_app(world.acme, "shop"))
    response = _deploy(developer_api, application="shop", release=7, environment="dev")
    assert response.status_code == 400
    assert response.json()["fields"] == {"release": ["No release 7 of shop."]}
    response = _deploy(developer_api, application="shop", release="latest", environment="dev")
    assert response.json()["fields"] == {"release": ["A release id, or with `application` a release number."]}


def test_promote_takes_the_target_environment_by_name(developer_api, world):
    release = make_release(make_app(world.acme, "shop"))
    staged, _ = deployment_create(
        actor=world.principal(Role.OWNER), release=release, environment=world.acme.environments.get(name="staging")
    )
    Deployment.objects.filter(pk=staged.pk).update(state="succeeded")
    response = developer_api.post(f"/api/v1/deployments/{staged.pk}/promote/", {"environment": "dev"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["environment_name"] == "dev"
    response = developer_api.post(f"/api/v1/deployments/{staged.pk}/promote/", {"environment": "qa"}, format="json")
    assert response.json()["fields"] == {"environment": ["No environment named “qa” in acme."]}


def test_remove_asks_which_tenant_when_the_caller_has_two_with_that_name(api, world):
    Membership.objects.create(tenant=world.globex, user=world.user(Role.OWNER), role=Role.OWNER)
    make_app(world.acme, "shop")
    api.as_user(world.user(Role.OWNER))
    body = {"application": "shop", "environment": "dev"}
    response = api.post("/api/v1/deployments/remove/", body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "environment": ["More than one of your tenants has environment “dev”: give the tenant too."]
    }


def test_releases_freezes_and_policies_take_names_too(api, world):
    api.as_user(world.user(Role.OWNER))
    make_app(world.acme, "shop")
    response = api.post(
        "/api/v1/releases/",
        {"tenant": "acme", "application": "shop", "image": "registry.example/shop:1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Release.objects.get(pk=response.json()["id"]).application.name == "shop"

    window = {"tenant": "acme", "environment": "prod", "name": "Sale", "starts_at": "2030-01-01T00:00:00Z"}
    response = api.post("/api/v1/freeze-windows/", {**window, "ends_at": "2030-01-02T00:00:00Z"}, format="json")
    assert response.status_code == 201, response.content
    assert FreezeWindow.objects.get().environment.name == "prod"
    policy = {"tenant": "acme", "environment": "staging", "requires_approval": False}
    response = api.post("/api/v1/approval-policies/", policy, format="json")
    assert response.status_code == 201, response.content


def test_the_schema_documents_an_id_or_a_name():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["components"]["schemas"]["StrategyCreateRequest"]["properties"]
    assert [choice["type"] for choice in body["environment"]["oneOf"]] == ["integer", "string"]
    assert [choice["type"] for choice in body["application"]["oneOf"]] == ["integer", "string"]
    assert body["release"]["type"] == "integer" and "release number" in body["release"]["description"]


def test_a_deploy_names_every_bad_field_at_once(developer_api, world):
    """The deadline's range and an unknown environment are the body's own errors; the falling canary
    steps and the blue-green keep are the strategy's. One answer names them all."""
    make_release(make_app(world.acme, "shop"))
    response = _deploy(
        developer_api,
        application="shop",
        release=1,
        environment="nowhere",
        strategy="canary",
        steps=[50, 10],
        progress_deadline_seconds=1,
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"environment", "steps", "progress_deadline_seconds"}, fields
    assert "must rise" in fields["steps"][0]


def test_a_cron_canary_in_another_tenants_environment_hears_both(developer_api, world):
    cron = make_app(world.acme, "nightly", kind="cron")
    release = make_release(cron, schedule="@daily")
    theirs = world.globex.environments.get(name="dev")
    response = _deploy(developer_api, release=release.pk, environment=theirs.pk, strategy="canary")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"environment", "strategy"}, response.json()


def test_an_application_or_environment_path_takes_its_name(api, world):
    shop = make_app(world.acme, "shop")
    make_app(world.globex, "secret")
    api.as_user(world.user(Role.OWNER))
    assert api.get("/api/v1/applications/shop/").json()["id"] == shop.pk
    assert api.get(f"/api/v1/applications/{shop.pk}/").json()["name"] == "shop"
    response = api.patch("/api/v1/applications/shop/", {"team": "checkout"}, format="json")
    assert response.status_code == 200 and response.json()["team"] == "checkout"
    assert api.get("/api/v1/environments/staging/").json()["id"] == world.acme.environments.get(name="staging").pk
    # Another tenant's name is a 404 exactly like a missing one.
    foreign, missing = api.get("/api/v1/applications/secret/"), api.get("/api/v1/applications/nothing/")
    assert (
        (foreign.status_code, foreign.json())
        == (missing.status_code, missing.json())
        == (
            404,
            {"code": "not_found", "detail": "Not found."},
        )
    )
    assert api.get("/api/v1/deployments/serving/", {"application": "secret"}).status_code == 404


def test_a_path_name_two_of_the_callers_tenants_share_needs_the_tenant(api, world):
    Membership.objects.create(tenant=world.globex, user=world.user(Role.OWNER), role=Role.OWNER)
    api.as_user(world.user(Role.OWNER))
    response = api.get("/api/v1/environments/dev/")
    assert response.status_code == 400 and "tenant" in response.json()["fields"]
    answer = api.get("/api/v1/environments/dev/", {"tenant": "globex"}).json()
    assert answer["id"] == world.globex.environments.get(name="dev").pk


def test_the_schema_says_a_path_takes_an_id_or_a_name():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/applications/{id}/", "/api/v1/environments/{id}/"):
        [parameter] = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "id"]
        assert [option["type"] for option in parameter["schema"]["oneOf"]] == ["integer", "string"]


def test_a_governed_deploy_without_a_reason_is_named_with_the_other_mistakes(developer_api, world):
    from apps.approvals.services.configuration import approval_policy_save

    approval_policy_save(
        actor=world.principal(Role.OWNER),
        tenant=world.acme,
        environment=world.acme.environments.get(name="prod"),
        stages=[{"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}],
    )
    make_release(make_app(world.acme, "shop"))
    response = _deploy(developer_api, application="shop", release=1, environment="prod", progress_deadline_seconds=1)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"justification", "progress_deadline_seconds"}, response.json()
