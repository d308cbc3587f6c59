"""The catalog API: applications, releases (create = the next release, never an edit), their diffs,
and service templates; every refusal as JSON with a stable code and the field it concerns."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.catalog import services
from apps.catalog.models import Application, Release, ServiceTemplate
from apps.tenants.principals import as_principal
from apps.tenants.services import quota_set

from .test_services import BAD_RELEASES, WEB_SCHEMA

pytestmark = pytest.mark.django_db

APPS, RELEASES, TEMPLATES = "/api/v1/applications/", "/api/v1/releases/", "/api/v1/templates/"


@pytest.fixture
def dev_api(api, world):
    return api.as_user(world.user("developer"))


@pytest.fixture
def template(world):
    return services.template_create(
        operator=world.operator_principal,
        slug="web-service",
        name="Web service",
        component_kind="web",
        parameter_schema=WEB_SCHEMA,
        defaults={"cpu_request": "150m"},
    )


def app_in(world, name="shop", kind="web", tenant=None):
    owner = world.user("owner", "acme" if tenant is None else tenant.slug)
    return services.application_create(
        actor=as_principal(owner), tenant=tenant or world.acme, name=name, component_kind=kind
    )


def post_release(api, application, **fields):
    return api.post(
        RELEASES, {"tenant": application.tenant.slug, "application": application.pk, **fields}, format="json"
    )


# --- Applications ------------------------------------------------------------------------------


def test_create_from_scratch_then_read_it_back(dev_api, world):
    response = dev_api.post(
        APPS,
        {
            "tenant": "acme",
            "name": "shop",
            "component_kind": "worker",
            "owner": "Developer@acme.test",
            "repository_url": "https://git.example.com/shop",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["component_kind"], body["owner"], body["template"], body["latest_release"]) == (
        "shop",
        "worker",
        "developer@acme.test",
        None,
        None,
    )
    assert dev_api.get(f"{APPS}{body['id']}/").json() == body


def test_create_from_a_template_records_the_version_and_cuts_release_one(dev_api, template):
    response = dev_api.post(
        APPS,
        {"tenant": "acme", "name": "shop", "template": template.pk, "parameters": {"image": "nginx:1.27", "port": 80}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["template"] == {"id": template.pk, "slug": "web-service", "version": 1, "name": "Web service"}
    assert body["template_parameters"]["port"] == 80 and body["latest_release"] == 1
    release = dev_api.get(RELEASES, {"application": body["id"]}).json()["results"][0]
    assert (release["number"], release["image"], release["ports"], release["cpu_request"]) == (
        1,
        "nginx:1.27",
        [{"name": "http", "port": 80}],
        "150m",
    )


def test_template_parameters_that_break_the_schema_name_the_parameter(dev_api, template):
    response = dev_api.post(
        APPS,
        {
            "tenant": "acme",
            "name": "shop",
            "template": template.pk,
            "parameters": {"image": "nginx:1.27", "port": 70000},
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameters" and list(body["fields"]) == ["parameters.port"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "shop", "owner": "outsider@example.net"}, "owner"),
        ({"name": "shop", "component_kind": "daemon"}, "component_kind"),
        ({"name": "shop", "repository_url": "not a url"}, "repository_url"),
        ({"name": "shop", "colour": "blue"}, "colour"),
    ],
)
def test_bad_application_payloads_name_the_field(dev_api, payload, field):
    response = dev_api.post(APPS, {"tenant": "acme", **payload}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert not Application.objects.exists()


def test_a_taken_name_is_refused_with_its_own_code(dev_api, world):
    app_in(world)
    response = dev_api.post(APPS, {"tenant": "acme", "name": "shop"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == services.NAME_TAKEN and "name" in response.json()["fields"]


def test_the_quota_refusal_is_a_409_naming_the_quota(dev_api, world):
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="applications", limit=1)
    app_in(world)
    response = dev_api.post(APPS, {"tenant": "acme", "name": "second"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "quota_exceeded"
    assert "Applications quota of tenant acme is 1" in response.json()["detail"]


def test_partial_update_edits_details_but_never_name_or_kind(dev_api, world):
    application = app_in(world)
    response = dev_api.patch(f"{APPS}{application.pk}/", {"team": "Web", "owner": "viewer@acme.test"}, format="json")
    assert response.status_code == 200 and (response.json()["team"], response.json()["owner"]) == (
        "Web",
        "viewer@acme.test",
    )
    response = dev_api.patch(f"{APPS}{application.pk}/", {"owner": None}, format="json")
    assert response.json()["owner"] is None
    response = dev_api.patch(f"{APPS}{application.pk}/", {"name": "renamed", "component_kind": "cron"}, format="json")
    assert response.status_code == 400 and set(response.json()["fields"]) == {"name", "component_kind"}
    assert Application.objects.get(pk=application.pk).name == "shop"
    assert dev_api.put(f"{APPS}{application.pk}/", {}, format="json").status_code == 405


def test_applications_filter_by_tenant_and_kind(dev_api, world):
    app_in(world, "web-one")
    app_in(world, "worker-one", kind="worker")
    names = {row["name"] for row in dev_api.get(APPS, {"component_kind": "worker"}).json()["results"]}
    assert names == {"worker-one"}
    assert dev_api.get(APPS, {"tenant": "globex"}).json()["results"] == []
    assert len(dev_api.get(APPS, {"tenant": "acme"}).json()["results"]) == 2


# --- Releases ----------------------------------------------------------------------------------


def test_each_post_is_the_next_release(dev_api, world):
    application = app_in(world)
    numbers = [post_release(dev_api, application, image=f"nginx:1.2{i}").json()["number"] for i in range(3)]
    assert numbers == [1, 2, 3]
    listed = [row["number"] for row in dev_api.get(RELEASES, {"application": application.pk}).json()["results"]]
    assert listed == [3, 2, 1]


def test_a_full_release_round_trips(dev_api, world):
    application = app_in(world)
    fields = {
        "image": "ghcr.io/acme/shop:2.0",
        "command": ["gunicorn"],
        "args": ["app:wsgi"],
        "env": {"LOG_LEVEL": "info"},
        "secret_refs": [{"name": "DB_PASSWORD", "secret": "db", "key": "pw"}],
        "ports": [{"name": "http", "port": 8000}],
        "replicas": 2,
        "cpu_request": "250m",
        "cpu_limit": "1",
        "memory_request": "256Mi",
        "memory_limit": "512Mi",
        "liveness_probe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "readiness_probe": {"tcpSocket": {"port": 8000}},
        "ingress_host": "shop.acme.example.com",
        "ingress_path": "/",
        "autoscale_min": 2,
        "autoscale_max": 5,
        "autoscale_cpu_target": 75,
        "schedule": "",
        "notes": "Launch",
    }
    response = post_release(dev_api, application, **fields)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {key: body[key] for key in fields} == fields
    assert (body["application"], body["application_name"], body["created_by"]) == (
        application.pk,
        "shop",
        "developer@acme.test",
    )


@pytest.mark.parametrize(
    "kind, fields, field, words", BAD_RELEASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD_RELEASES)]
)
def test_bad_release_fields_are_400s_naming_the_field(dev_api, world, kind, fields, field, words):
    application = app_in(world, kind=kind)
    response = post_release(dev_api, application, **{"image": "nginx:1.27", **fields})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and field in body["fields"], body
    assert not application.releases.exists()


def test_the_memory_typo_reads_clearly(dev_api, world):
    response = post_release(dev_api, app_in(world), image="nginx:1.27", memory_request="500mi")
    assert response.json() == {
        "code": "invalid",
        "detail": response.json()["detail"],
        "fields": {"memory_request": [response.json()["detail"]]},
    }
    assert "did you mean “500Mi”" in response.json()["detail"]


def test_releases_are_never_edited_or_deleted(dev_api, world):
    release = services.release_create(actor=world.principal("developer"), application=app_in(world), image="nginx:1.27")
    url = f"{RELEASES}{release.pk}/"
    for method in ("patch", "put", "delete"):
        assert getattr(dev_api, method)(url, {"replicas": 5}, format="json").status_code == 405
    assert Release.objects.get(pk=release.pk).replicas == 1


def test_a_release_names_its_tenant_and_an_application_in_it(dev_api, world):
    foreign = app_in(world, tenant=world.globex)
    response = dev_api.post(
        RELEASES, {"tenant": "acme", "application": foreign.pk, "image": "nginx:1.27"}, format="json"
    )
    assert response.status_code == 400 and "application" in response.json()["fields"]
    mine = app_in(world)
    response = dev_api.post(
        RELEASES, {"tenant": "globex", "application": mine.pk, "image": "nginx:1.27"}, format="json"
    )
    assert response.status_code == 400 and "tenant" in response.json()["fields"]


def test_a_key_without_the_releases_write_scope_cannot_cut_one(api, world):
    application = app_in(world)
    api.with_key(world.key("developer", scopes=["apps:write", "releases:read"]))
    response = post_release(api, application, image="nginx:1.27")
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    api.with_key(world.key("developer", scopes=["releases:write"]))
    assert post_release(api, application, image="nginx:1.27").status_code == 201


def test_diff_against_another_release(dev_api, world):
    application = app_in(world)
    first = post_release(dev_api, application, image="nginx:1.26", env={"A": "1"}).json()
    second = post_release(dev_api, application, image="nginx:1.27", env={"A": "2"}, replicas=3).json()
    response = dev_api.get(f"{RELEASES}{second['id']}/diff/", {"against": first["id"]})
    assert response.status_code == 200
    assert response.json() == {
        "application": application.pk,
        "before": 1,
        "after": 2,
        "changes": [
            {"field": "image", "before": "nginx:1.26", "after": "nginx:1.27"},
            {"field": "env.A", "before": "1", "after": "2"},
            {"field": "replicas", "before": 1, "after": 3},
        ],
    }


def test_diff_refuses_missing_foreign_and_unrelated_releases_alike(dev_api, world):
    application = app_in(world)
    release = services.release_create(actor=world.principal("developer"), application=application, image="nginx:1.27")
    foreign = services.release_create(
        actor=world.principal("owner", "globex"), application=app_in(world, tenant=world.globex), image="nginx:1.27"
    )
    url = f"{RELEASES}{release.pk}/diff/"
    missing, alien = dev_api.get(url, {"against": 999999}), dev_api.get(url, {"against": foreign.pk})
    assert missing.status_code == alien.status_code == 400
    assert set(missing.json()["fields"]) == set(alien.json()["fields"]) == {"against"}
    assert dev_api.get(url).json()["fields"] == {"against": ["No release with id “” to compare against."]}
    other = services.release_create(
        actor=world.principal("developer"), application=app_in(world, "other"), image="nginx:1.27"
    )
    assert dev_api.get(url, {"against": other.pk}).json()["fields"] == {
        "against": ["Compare two releases of the same application."]
    }


# --- Templates ---------------------------------------------------------------------------------


def test_every_signed_in_user_reads_active_templates_and_operators_all(api, world, template):
    retired = services.template_create(operator=world.operator_principal, slug="old", name="Old", component_kind="web")
    ServiceTemplate.objects.filter(pk=retired.pk).update(is_active=False)
    assert api.get(TEMPLATES).status_code == 401
    api.as_user(world.user("viewer", "globex"))
    assert [row["slug"] for row in api.get(TEMPLATES).json()["results"]] == ["web-service"]
    assert api.get(f"{TEMPLATES}{retired.pk}/").status_code == 404
    api.as_user(world.operator)
    assert {row["slug"] for row in api.get(TEMPLATES).json()["results"]} == {"web-service", "old"}


def test_keys_read_templates_with_the_apps_read_scope_only(api, world, template):
    api.with_key(world.key("viewer", scopes=["apps:read"]))
    assert api.get(f"{TEMPLATES}{template.pk}/").json()["parameter_schema"] == WEB_SCHEMA
    api.with_key(world.key("owner", scopes=["releases:read"]))
    response = api.get(TEMPLATES)
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"


def test_only_operators_publish_and_a_known_slug_is_the_next_version(api, world, template):
    payload = {"slug": "web-service", "name": "Web service", "component_kind": "web", "parameter_schema": WEB_SCHEMA}
    api.as_user(world.user("owner"))
    assert api.post(TEMPLATES, payload, format="json").json()["code"] == "permission_denied"
    api.with_key(world.key("owner"))
    assert api.post(TEMPLATES, payload, format="json").status_code == 403
    before = AuditEvent.objects.count()
    api.as_user(world.operator)
    response = api.post(TEMPLATES, payload, format="json")
    assert response.status_code == 201 and response.json()["version"] == 2
    assert AuditEvent.objects.count() == before + 1


def test_a_bad_schema_is_a_field_error(api, world):
    api.as_user(world.operator)
    response = api.post(
        TEMPLATES,
        {
            "slug": "x",
            "name": "X",
            "component_kind": "web",
            "parameter_schema": {"type": "object", "properties": {"n": {"type": "nope"}}},
        },
        format="json",
    )
    assert response.status_code == 400 and list(response.json()["fields"]) == ["parameter_schema"]


def test_template_list_queries_do_not_grow(api, world):
    api.as_user(world.user("viewer"))

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api.get(TEMPLATES, {"page_size": 100}).status_code == 200
        return len(queries)

    services.template_create(operator=world.operator_principal, slug="t0", name="T", component_kind="web")
    count()
    small = count()
    for i in range(1, 30):
        services.template_create(operator=world.operator_principal, slug=f"t{i}", name="T", component_kind="web")
    assert count() == small


def test_the_schema_documents_the_catalog(api, world):
    api.as_user(world.user("viewer"))
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in (
        "/api/v1/applications/",
        "/api/v1/applications/{id}/",
        "/api/v1/releases/",
        "/api/v1/releases/{id}/diff/",
        "/api/v1/templates/",
    ):
        assert path in paths
    assert "patch" not in paths["/api/v1/releases/{id}/"] and "post" in paths["/api/v1/releases/"]


def test_the_api_names_every_invalid_release_field_at_once(dev_api, world):
    application = app_in(world)
    response = post_release(
        dev_api,
        application,
        image="nginx:1.27",
        cpu_request="abc",
        memory_request="lots",
        autoscale_min=5,
        autoscale_max=2,
        autoscale_cpu_target=500,
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"cpu_request", "memory_request", "autoscale_max", "autoscale_cpu_target"}
    assert "not a CPU quantity" in fields["cpu_request"][0] and "not a memory quantity" in fields["memory_request"][0]
    assert "below the minimum" in fields["autoscale_max"][0] and "1 to 100" in fields["autoscale_cpu_target"][0]


def test_the_api_names_parse_errors_and_release_rules_together(dev_api, world):
    """replicas and autoscale_min are not numbers (the body's own types), a misspelt field is
    unknown, and CPU, memory and the CPU target break the release rules: one answer names them all."""
    application = app_in(world)
    response = post_release(
        dev_api,
        application,
        image="nginx:1.27",
        replicas="three",
        replica=3,
        cpu_request="abc",
        memory_request="lots",
        autoscale_min="two",
        autoscale_max=4,
        autoscale_cpu_target=500,
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {
        "replicas",
        "replica",
        "autoscale_min",
        "cpu_request",
        "memory_request",
        "autoscale_cpu_target",
    }, fields
    assert "not a CPU quantity" in fields["cpu_request"][0] and "1 to 100" in fields["autoscale_cpu_target"][0]
    assert fields["replica"] == ["Unknown field."]
    assert not Release.objects.exists()


def test_an_unknown_field_is_named_with_the_release_rules(dev_api, world):
    application = app_in(world)
    response = post_release(dev_api, application, image="nginx", replica=3, cpu_request="abc")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"replica", "image", "cpu_request"}


def test_an_unknown_application_is_named_with_the_rules_that_need_no_kind(dev_api, world):
    response = dev_api.post(
        RELEASES, {"tenant": "acme", "application": "nope", "image": "nginx", "memory_request": "lots"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"application", "image", "memory_request"}


def test_a_body_that_is_not_an_object_or_a_port_name_that_is_not_text_is_a_400(dev_api, world):
    assert dev_api.post(RELEASES, [None, None], format="json").status_code == 400
    application = app_in(world)
    response = post_release(dev_api, application, image="nginx:1.27", ports=[{"name": {}, "port": 1}])
    assert response.status_code == 400 and set(response.json()["fields"]) == {"ports"}
