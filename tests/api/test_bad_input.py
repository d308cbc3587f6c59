"""Bad input gets a 4xx in the API's one error shape, never a 500 or an HTML page (issue 12, item 8).

PostgreSQL refuses NUL in text and jsonb, the JSON decoder recurses once per level, and Django's
own error pages are HTML: each is answered before it reaches a view, whatever the field or route.
"""

import json

import pytest

from apps.catalog.models import Release
from apps.cmdb.models import ConfigurationItem
from apps.core.parsers import MAX_JSON_DEPTH
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db

NUL = "a\x00b"


def nested(depth: int, leaf="x"):
    value = leaf
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def assert_error_shape(response, status, code=None):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["code"], str) and isinstance(body["detail"], str)
    if code:
        assert body["code"] == code, body


@pytest.fixture
def owner_api(api, world):
    return api.with_key(world.key(Role.OWNER))


@pytest.fixture
def shop(world):
    app = make_app(world.acme, "shop")
    make_release(app)
    return app


def post_release(api, app, **fields):
    return api.post(
        "/api/v1/releases/", {"tenant": "acme", "application": app.pk, "image": "nginx:1.27", **fields}, format="json"
    )


# --- NUL characters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"env": {"LOG_LEVEL": NUL}},
        {"env": {NUL: "info"}},
        {"command": ["sh", NUL]},
    ],
)
def test_a_nul_character_in_a_release_is_refused_and_nothing_is_stored(owner_api, shop, fields):
    before = Release.objects.count()
    assert_error_shape(post_release(owner_api, shop, **fields), 400, "invalid_body")
    assert Release.objects.count() == before


@pytest.mark.parametrize(
    "fields",
    [
        {"labels": {"tier": NUL}},
        {"labels": {NUL: "gold"}},
        {"attributes": {"notes": NUL}},
        {"attributes": {"nested": [{"deep": NUL}]}},
    ],
)
def test_a_nul_character_in_a_cmdb_item_is_refused(owner_api, world, fields):
    before = ConfigurationItem.objects.count()
    response = owner_api.post(
        "/api/v1/cmdb/items/",
        {"tenant": "acme", "type": "external-service", "name": "payments", **fields},
        format="json",
    )
    assert_error_shape(response, 400, "invalid_body")
    assert ConfigurationItem.objects.count() == before


def test_a_nul_character_in_an_approval_member_email_is_refused(owner_api, world):
    response = owner_api.post(
        "/api/v1/approval-policies/",
        {
            "tenant": "acme",
            "environment": world.acme.environments.get(name="staging").pk,
            "stages": [{"name": "Leads", "quorum": 1, "roles": [], "members": ["owner@acme.test\x00"]}],
        },
        format="json",
    )
    assert_error_shape(response, 400, "invalid_body")


def test_a_nul_character_in_a_form_encoded_body_is_refused(owner_api):
    response = owner_api.post("/api/v1/environments/", {"tenant": "acme", "name": NUL})  # multipart
    assert_error_shape(response, 400, "invalid_body")
    response = owner_api.generic(
        "POST", "/api/v1/environments/", "tenant=acme&name=a%00b", content_type="application/x-www-form-urlencoded"
    )
    assert_error_shape(response, 400, "invalid_body")


def test_a_lone_surrogate_is_refused_like_a_nul(owner_api, shop):
    body = '{"tenant": "acme", "application": %d, "image": "nginx", "env": {"A": "\\ud800"}}' % shop.pk  # noqa: UP031 (JSON braces)
    response = owner_api.generic("POST", "/api/v1/releases/", body, content_type="application/json")
    assert_error_shape(response, 400, "invalid_body")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/tenants/globex%00/", "/api/v1/tenants/acme%00/", "/api/v1/environments/1%00/", "/api/v1/nothing%00here/"],
)
def test_a_nul_character_in_the_path_is_a_400_not_a_500(owner_api, path):
    assert_error_shape(owner_api.get(path), 400, "invalid")
    assert_error_shape(owner_api.patch(path, {"name": "x"}, format="json"), 400, "invalid")


# --- Nesting ---------------------------------------------------------------------------------


def test_json_nested_a_thousand_deep_is_a_400_not_a_recursion_error(owner_api, shop):
    body = '{"tenant": "acme", "application": %d, "image": "nginx", "env": %s}' % (  # noqa: UP031 (JSON braces)
        shop.pk,
        "[" * 1000 + "]" * 1000,
    )
    response = owner_api.generic("POST", "/api/v1/releases/", body, content_type="application/json")
    assert_error_shape(response, 400, "invalid_body")
    body = "[" * 100_000 + "]" * 100_000
    assert_error_shape(owner_api.generic("POST", "/api/v1/releases/", body, content_type="application/json"), 400)


def test_stored_json_is_capped_at_the_maximum_depth(owner_api, world):
    def create(name, depth):
        # The outer body and "attributes" take two levels of the budget.
        return owner_api.post(
            "/api/v1/cmdb/items/",
            {"tenant": "acme", "type": "external-service", "name": name, "attributes": {"doc": nested(depth)}},
            format="json",
        )

    assert_error_shape(create("deep", 900), 400, "invalid_body")
    assert_error_shape(create("just-too-deep", MAX_JSON_DEPTH), 400, "invalid_body")
    assert not ConfigurationItem.objects.filter(name__in=["deep", "just-too-deep"]).exists()

    response = create("deep-enough", MAX_JSON_DEPTH - 1)
    assert response.status_code == 201, response.content
    assert response.json()["declared_attributes"]["doc"] == nested(MAX_JSON_DEPTH - 1)


# --- Size --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain"],
)
def test_a_ten_megabyte_body_gets_413_in_the_error_shape(owner_api, shop, content_type):
    body = json.dumps({"tenant": "acme", "application": shop.pk, "image": "nginx", "env": {"A": "x" * 10_000_000}})
    response = owner_api.generic("POST", "/api/v1/releases/", body, content_type=content_type)
    assert_error_shape(response, 413, "request_too_large")


def test_a_form_with_too_many_fields_is_refused_in_the_error_shape(owner_api):
    body = "&".join(f"f{i}=1" for i in range(2000))
    response = owner_api.generic(
        "POST", "/api/v1/environments/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and response.json()["code"]


# --- Django's own errors on API paths -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/environments/0.5/", "/api/v1/no-such-thing/", "/api/v2/"])
def test_an_api_route_that_does_not_match_answers_json_404(owner_api, path):
    assert_error_shape(owner_api.get(path), 404, "not_found")
    assert_error_shape(owner_api.delete(path), 404, "not_found")


def test_pages_keep_their_html_error_pages(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    response = client.get("/t/acme%00/")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


# --- Digits that are not ASCII -----------------------------------------------------------------

# str.isdigit() is true of both: int() refuses the first and reads the second as 3.
NOT_ASCII_DIGITS = ["²", "٣", "99999999999999999999999"]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/workloads/?application={}",
        "/api/v1/workloads/?environment={}",
        "/api/v1/deploy-settings/?environment={}",
        "/api/v1/deployments/?environment={}",
        "/api/v1/deployments/?application={}",
        "/api/v1/deployments/serving/?application={}&tenant=acme",
        "/api/v1/applications/{}/",
        "/api/v1/cmdb/items/?depth={}",
    ],
)
def test_digits_that_are_not_ascii_or_beyond_an_id_are_no_500_in_the_api(owner_api, shop, path, value):
    response = owner_api.get(path.format(value))
    assert response.status_code in (200, 400, 404), (response.status_code, response.content[:300])


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize(
    "path",
    [
        "/t/acme/workloads/?application={}",
        "/t/acme/deployments/?before={}",
        "/t/acme/apps/new/?template={}",
        "/t/acme/apps/shop/releases/?before={}",
        "/t/acme/deployments/new/?application=shop&release={}",
        "/t/acme/cmdb/?saved={}",
        "/t/acme/audit/?before={}",
    ],
)
def test_digits_that_are_not_ascii_or_beyond_an_id_are_no_500_on_the_pages(client, world, shop, path, value):
    client.force_login(world.user(Role.OWNER))
    response = client.get(path.format(value))
    assert response.status_code in (200, 400, 404), (response.status_code, path)
