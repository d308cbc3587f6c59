"""The API accepts what its schema calls valid and refuses what it calls invalid: the cases schemathesis
found (issue 12, item 14), each checked directly so a regression names itself."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.tenants.models import Membership
from apps.tenants.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(api, world):
    return api.with_key(world.key(Role.OWNER))


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_a_number_for_text_or_for_a_boolean_is_refused(owner_api, world):
    environment = world.acme.environments.get(name="dev")
    response = owner_api.patch(f"/api/v1/environments/{environment.pk}/", {"name": 0}, format="json")
    assert response.status_code == 400 and "name" in response.json()["fields"]
    environment.refresh_from_db()
    assert environment.name == "dev"
    setting = owner_api.get("/api/v1/deploy-settings/").json()["results"][0]
    response = owner_api.patch(f"/api/v1/deploy-settings/{setting['id']}/", {"auto_rollback": 0}, format="json")
    assert response.status_code == 400 and "auto_rollback" in response.json()["fields"]


def test_form_bodies_still_read_their_text(owner_api, world):
    environment = world.acme.environments.get(name="dev")
    response = owner_api.patch(f"/api/v1/environments/{environment.pk}/", {"kind": "non_production"})  # multipart
    assert response.status_code == 200, response.content


def test_a_patch_that_leaves_a_field_out_keeps_it(owner_api, world):
    response = owner_api.patch("/api/v1/tenants/acme/", {}, format="json")
    assert response.status_code == 200 and response.json()["name"] == world.acme.name
    viewer = Membership.objects.get(tenant=world.acme, user=world.user(Role.VIEWER))
    response = owner_api.patch(f"/api/v1/members/{viewer.pk}/", {}, format="json")
    assert response.status_code == 200 and response.json()["role"] == Role.VIEWER


@pytest.mark.parametrize(
    "url, query, field",
    [
        ("/api/v1/change-requests/", {"waiting_for_me": "null"}, "waiting_for_me"),
        ("/api/v1/cmdb/items/export/", {"as": "AAA"}, "as"),
    ],
)
def test_a_query_parameter_outside_its_schema_is_refused(owner_api, url, query, field):
    response = owner_api.get(url, query)
    assert response.status_code == 400 and field in response.json()["fields"], response.content


def test_the_graph_refuses_a_stale_flag_or_a_provenance_outside_the_schema(owner_api, world):
    from apps.cmdb.models import ConfigurationItem

    item = ConfigurationItem.objects.filter(tenant=world.acme).first()
    response = owner_api.get(f"/api/v1/cmdb/items/{item.pk}/graph/", {"stale": "null"})
    assert response.status_code == 400 and "stale" in response.json()["fields"]
    assert owner_api.get(f"/api/v1/cmdb/items/{item.pk}/graph/", {"stale": "false"}).status_code == 200
    response = owner_api.get(f"/api/v1/cmdb/items/{item.pk}/graph/dot/", {"provenance": ["declared", "rumoured"]})
    assert response.status_code == 400 and "provenance" in response.json()["fields"]
    assert owner_api.get(f"/api/v1/cmdb/items/{item.pk}/graph/", {"provenance": "declared"}).status_code == 200


def parameters(schema, path, method="get"):
    return {p["name"]: p for p in schema["paths"][path][method].get("parameters", [])}


def test_the_schema_states_the_bounds_the_api_enforces(schema):
    assert parameters(schema, "/api/v1/environments/")["page_size"]["schema"]["minimum"] == 1
    depth = parameters(schema, "/api/v1/cmdb/items/{id}/graph/")["depth"]["schema"]
    assert (depth["minimum"], depth["maximum"]) == (1, 10)
    assert "status" not in parameters(schema, "/api/v1/cmdb/items/{id}/history/")  # the list's search is not applied


def test_the_schema_documents_json_request_bodies_and_what_they_must_hold(schema):
    body = schema["paths"]["/api/v1/environments/"]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"]
    request = schema["components"]["schemas"]["EnvironmentRequest"]["properties"]
    assert request["tenant"]["minLength"] == 1 and request["name"]["minLength"] == 1
    webhook = schema["components"]["schemas"]["WebhookEndpointCreateRequest"]["properties"]
    assert webhook["events"]["minItems"] == 1
    # Responses are not held to request rules: a blank diff is a valid answer.
    assert "minLength" not in schema["components"]["schemas"]["Environment"]["properties"]["name"]


def test_a_created_row_links_to_the_operations_on_it(schema):
    links = schema["paths"]["/api/v1/environments/"]["post"]["responses"]["201"]["links"]
    retrieve = schema["paths"]["/api/v1/environments/{id}/"]["get"]["operationId"]
    assert links[retrieve] == {"operationId": retrieve, "parameters": {"id": "$response.body#/id"}}
    tenant_links = schema["paths"]["/api/v1/tenants/"]["post"]["responses"]["201"]["links"]
    assert all(link["parameters"] == {"slug": "$response.body#/slug"} for link in tenant_links.values())


def test_a_serializer_that_refuses_unknown_fields_says_so(owner_api, world, schema):
    from apps.cmdb.models import ConfigurationItem

    item = ConfigurationItem.objects.filter(tenant=world.acme).first()
    response = owner_api.patch(f"/api/v1/cmdb/items/{item.pk}/", {"tier": "gold"}, format="json")
    assert response.status_code == 400 and response.json()["fields"] == {"tier": ["Unknown field."]}
    ref = schema["paths"]["/api/v1/cmdb/items/{id}/"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]["additionalProperties"] is False


@pytest.mark.parametrize(
    "path, name",
    [
        # Filters that also take a name are "integer or string": tests/api/test_name_filters.py.
        ("/api/v1/cmdb/history/", "item"),
        ("/api/v1/cmdb/relationships/", "target"),
        ("/api/v1/api-usage/", "key"),
        ("/api/v1/webhook-deliveries/", "endpoint"),
    ],
)
def test_an_id_filter_is_a_whole_number_in_the_schema_and_in_the_api(owner_api, schema, path, name):
    spec = parameters(schema, path)[name]["schema"]
    assert (spec["type"], spec["minimum"], spec["maximum"]) == ("integer", 0, 2**63 - 1)
    assert owner_api.get(path, {name: "0.5"}).status_code == 400
    assert owner_api.get(path, {name: "-1"}).status_code == 400
    assert owner_api.get(path, {name: "0"}).status_code == 200
    assert owner_api.get(path, {name: str(2**63)}).status_code == 400
    response = owner_api.get(path, {name: str(2**63 - 1)})  # no row has it: an empty list
    assert response.status_code == 200 and response.json()["results"] == [], response.content


@pytest.mark.parametrize(
    "action", ["rollback", "cancel", "continue", "switch-back", "pause", "resume", "scale", "restart", "promote"]
)
def test_a_member_who_may_not_act_is_told_so_before_anything_about_the_body(api, world, action):
    from apps.deployments.models import Deployment
    from tests.deployments.conftest import make_app, make_release

    app = make_app(world.acme, "web")
    deployment = Deployment.objects.create(
        tenant=world.acme,
        application=app,
        release=make_release(app),
        environment=world.acme.environments.get(name="dev"),
        state="succeeded",
    )
    viewer = api.as_user(world.user(Role.VIEWER))  # a session: a key of a viewer lacks the write scopes anyway
    response = viewer.post(f"/api/v1/deployments/{deployment.pk}/{action}/", {"replicas": "many"}, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
