"""The catalog pages: the application list, a new application from scratch or from a template's
schema form, the application page with its releases, the next release prefilled from the latest,
the comparison, and the operators' template pages. Refusals land on the field that caused them."""

import re

import pytest
from django.utils.html import escape

from apps.audit.models import AuditEvent
from apps.catalog import services
from apps.catalog.models import Application, Release, ServiceTemplate

from .test_services import WEB_SCHEMA

pytestmark = pytest.mark.django_db

RELEASE = {
    "image": "nginx:1.27",
    "replicas": "1",
    "cpu_request": "100m",
    "memory_request": "128Mi",
    "ingress_path": "/",
}


@pytest.fixture
def dev_client(client, world):
    client.force_login(world.user("developer"))
    return client


@pytest.fixture
def template(world):
    schema = {
        **WEB_SCHEMA,
        "properties": {
            **WEB_SCHEMA["properties"],
            "image": {"type": "string", "title": "Image", "description": "<b>tag</b>"},
        },
    }
    return services.template_create(
        operator=world.operator_principal,
        slug="web-service",
        name="Web service",
        component_kind="web",
        parameter_schema=schema,
    )


def app_in(world, name="shop", kind="web", **release):
    application = services.application_create(
        actor=world.principal("owner"), tenant=world.acme, name=name, component_kind=kind
    )
    if release:
        services.release_create(actor=world.principal("owner"), application=application, **release)
    return application


def input_tag(page: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea|select)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert match, f"no input named {name}"
    return match.group(0)


def field_refused(page: str, name: str, words: str) -> bool:
    return "is-invalid" in input_tag(page, name) and escape(words) in page


# --- List and new application ------------------------------------------------------------------


def test_the_list_shows_applications_with_their_latest_release(dev_client, world):
    app_in(world, image="nginx:1.26")
    services.release_create(
        actor=world.principal("owner"), application=Application.objects.get(name="shop"), image="nginx:1.27"
    )
    page = dev_client.get("/t/acme/apps/").content.decode()
    assert (
        'id="nav-apps" href="/t/acme/apps/" aria-current="page"><span><i class="bi bi-boxes me-2"></i>Applications<'
        in page
    )
    assert "shop" in page and "#2" in page and "nginx:1.27" in page
    assert 'id="new-application"' in page


def test_viewers_see_applications_but_no_way_to_create(client, world):
    app_in(world)
    client.force_login(world.user("viewer"))
    assert 'id="new-application"' not in client.get("/t/acme/apps/").content.decode()
    page = client.get("/t/acme/apps/new/").content.decode()
    assert 'id="cannot-create"' in page and 'name="name"' not in page
    response = client.post("/t/acme/apps/new/", {"name": "sneaky", "component_kind": "web"})
    assert response.status_code == 400 and not Application.objects.filter(name="sneaky").exists()


def test_a_new_application_from_scratch(dev_client, world):
    response = dev_client.post(
        "/t/acme/apps/new/",
        {"name": "shop", "component_kind": "worker", "team": "Web", "owner": world.user("developer").pk},
    )
    assert response.status_code == 302 and response["Location"] == "/t/acme/apps/shop/"
    application = Application.objects.get(tenant=world.acme, name="shop")
    assert (application.component_kind, application.team, application.owner) == (
        "worker",
        "Web",
        world.user("developer"),
    )


def test_the_new_page_offers_the_newest_version_of_each_template(dev_client, world, template):
    services.template_create(
        operator=world.operator_principal,
        slug="web-service",
        name="Web service",
        component_kind="web",
        parameter_schema=WEB_SCHEMA,
    )
    page = dev_client.get("/t/acme/apps/new/").content.decode()
    newest = ServiceTemplate.objects.get(slug="web-service", version=2)
    assert f"?template={newest.pk}" in page and f'?template={template.pk}"' not in page


def test_the_template_schema_becomes_a_form(dev_client, template):
    page = dev_client.get(f"/t/acme/apps/new/?template={template.pk}").content.decode()
    assert 'type="text"' in input_tag(page, "param_image") and "required" in input_tag(page, "param_image")
    port = input_tag(page, "param_port")
    assert 'type="number"' in port and 'value="8080"' in port and 'min="1"' in port and 'max="65535"' in port
    assert input_tag(page, "param_memory_request").startswith("<select")
    assert re.search(r'<option value="256Mi" selected>', page)
    assert 'type="checkbox"' in input_tag(page, "param_public")
    assert "&lt;b&gt;tag&lt;/b&gt;" in page and "<b>tag</b>" not in page
    assert 'name="component_kind"' not in page


def test_a_new_application_from_a_template_cuts_release_one(dev_client, world, template):
    response = dev_client.post(
        f"/t/acme/apps/new/?template={template.pk}",
        {
            "name": "shop",
            "param_image": "nginx:1.27",
            "param_port": "80",
            "param_replicas": "",
            "param_memory_request": "128Mi",
            "param_public": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    application = Application.objects.get(name="shop")
    assert application.template == template
    assert application.template_parameters == {
        "image": "nginx:1.27",
        "port": 80,
        "replicas": 2,
        "memory_request": "128Mi",
        "public": True,
    }
    release = application.releases.get()
    assert (release.number, release.ports, release.memory_request) == (1, [{"name": "http", "port": 80}], "128Mi")
    page = dev_client.get("/t/acme/apps/shop/").content.decode()
    assert "Web service" in page and "v1" in page and "#1" in page


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"param_image": "nginx"}, "param_image", "tag or a digest"),
        ({"param_image": "nginx:1.27", "param_port": "0"}, "param_port", "greater than or equal to 1"),
        ({"param_image": "nginx:1.27", "param_replicas": "500"}, "param_replicas", "0 to 100"),
        ({"param_image": ""}, "param_image", "This field is required."),
        ({"name": "new", "param_image": "nginx:1.27"}, "name", "reserved"),
    ],
)
def test_template_form_refusals_land_on_their_field(dev_client, template, data, field, words):
    response = dev_client.post(
        f"/t/acme/apps/new/?template={template.pk}", {"name": "shop", "param_port": "8080", **data}
    )
    assert response.status_code == 400
    assert field_refused(response.content.decode(), field, words)
    assert not Application.objects.exists()


def test_the_applications_quota_refusal_is_shown(dev_client, world):
    from apps.tenants.services import quota_set

    quota_set(operator=world.operator_principal, tenant=world.acme, resource="applications", limit=0)
    response = dev_client.post("/t/acme/apps/new/", {"name": "shop", "component_kind": "web"})
    assert response.status_code == 400
    assert 'id="refusal"' in response.content.decode()
    assert "Applications quota of tenant acme is 0" in response.content.decode()


# --- The application page ----------------------------------------------------------------------


def test_the_application_page_lists_releases_newest_first_and_prefills_the_next(dev_client, world):
    application = app_in(world, image="nginx:1.26")
    services.release_create(
        actor=world.principal("owner"),
        application=application,
        image="nginx:1.27",
        env={"LOG_LEVEL": "debug", "MODE": "web"},
        ports=[{"name": "http", "port": 80}],
        readiness_probe={"httpGet": {"path": "/", "port": "http"}},
    )
    page = dev_client.get("/t/acme/apps/shop/").content.decode()
    assert page.index('href="/t/acme/apps/shop/releases/2/"') < page.index('href="/t/acme/apps/shop/releases/1/"')
    assert 'value="nginx:1.27"' in input_tag(page, "image")
    assert "LOG_LEVEL=debug\nMODE=web</textarea>" in page and "http=80</textarea>" in page
    assert escape('{"httpGet": {"path": "/", "port": "http"}}') in page
    assert "Create release #3" in page
    assert 'name="schedule"' not in page


def test_submitting_the_form_cuts_the_next_release(dev_client, world):
    application = app_in(world, image="nginx:1.26")
    data = {
        **RELEASE,
        "env": "A=1\nB = two words\n",
        "secret_refs": "DB_PASSWORD=db/password",
        "ports": "http=8080\nmetrics=9090\ndns=53/udp",
        "command": "gunicorn\n--workers=2",
        "liveness_probe": '{"tcpSocket": {"port": "http"}}',
        "ingress_host": "shop.acme.example.com",
        "notes": "Bigger",
    }
    response = dev_client.post("/t/acme/apps/shop/releases/", data)
    assert response.status_code == 302 and response["Location"] == "/t/acme/apps/shop/"
    release = application.releases.get(number=2)
    assert release.env == {"A": "1", "B": "two words"}
    assert release.secret_refs == [{"name": "DB_PASSWORD", "secret": "db", "key": "password"}]
    assert release.ports == [
        {"name": "http", "port": 8080},
        {"name": "metrics", "port": 9090},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]
    assert release.command == ["gunicorn", "--workers=2"] and release.liveness_probe == {"tcpSocket": {"port": "http"}}
    assert (release.ingress_host, release.ingress_path, release.notes) == ("shop.acme.example.com", "/", "Bigger")
    assert application.releases.get(number=1).image == "nginx:1.26"
    assert AuditEvent.objects.filter(action="release.create", object_id=str(release.pk)).count() == 1


UI_BAD = [
    ("web", {"image": "nginx"}, "image", "tag or a digest"),
    ("web", {"image": "NGINX:1"}, "image", "not an image reference"),
    ("web", {"env": "1BAD=x"}, "env", "not a valid environment variable name"),
    ("web", {"env": "JUST_A_NAME"}, "env", "as NAME=value"),
    ("web", {"secret_refs": "DB=nokey"}, "secret_refs", "DB=secret/key"),
    ("web", {"secret_refs": "DB=Bad_Secret/key"}, "secret_refs", "not a Secret name"),
    ("web", {"ports": "http=0"}, "ports", "out of range"),
    ("web", {"ports": "http=80\nweb=80"}, "ports", "listed twice"),
    ("web", {"ports": "http=eighty"}, "ports", "is not a port"),
    ("web", {"replicas": "101"}, "replicas", "0 to 100"),
    ("web", {"cpu_request": "lots"}, "cpu_request", "not a CPU quantity"),
    ("web", {"memory_request": "500mi"}, "memory_request", "did you mean “500Mi”"),
    ("web", {"memory_limit": "64Mi"}, "memory_limit", "below the request"),
    ("web", {"liveness_probe": "{not json"}, "liveness_probe", "not valid JSON"),
    ("web", {"liveness_probe": '{"httpGet": {"port": 80}}'}, "liveness_probe", "path starting with /"),
    ("web", {"readiness_probe": '{"exec": {}}'}, "readiness_probe", "command list"),
    ("web", {"ports": "http=80", "ingress_host": "not a host"}, "ingress_host", "not a DNS name"),
    (
        "web",
        {"autoscale_min": "5", "autoscale_max": "2", "autoscale_cpu_target": "50"},
        "autoscale_max",
        "below the minimum",
    ),
    (
        "web",
        {"autoscale_min": "1", "autoscale_max": "2", "autoscale_cpu_target": "150"},
        "autoscale_cpu_target",
        "1 to 100",
    ),
    ("cron", {"schedule": "every day"}, "schedule", "has 2 fields"),
    ("cron", {"schedule": "0 25 * * *"}, "schedule", "hour field"),
]


@pytest.mark.parametrize("kind, data, field, words", UI_BAD, ids=[f"{c[2]}-{i}" for i, c in enumerate(UI_BAD)])
def test_bad_release_input_is_marked_on_its_field(dev_client, world, kind, data, field, words):
    app_in(world, kind=kind)
    base = {**RELEASE, "schedule": "0 3 * * *"} if kind == "cron" else RELEASE
    response = dev_client.post("/t/acme/apps/shop/releases/", {**base, **data})
    assert response.status_code == 400
    page = response.content.decode()
    assert field_refused(page, field, words), re.findall(r'invalid-feedback">([^<]*)', page)
    assert 'id="release-refused"' in page
    assert not Release.objects.exists()


def test_the_comparison_shows_what_changed(dev_client, world):
    application = app_in(world, image="nginx:1.26", env={"A": "1"})
    services.release_create(
        actor=world.principal("owner"), application=application, image="nginx:1.27", env={"A": "2"}, replicas=3
    )
    page = dev_client.get("/t/acme/apps/shop/", {"before": "1", "after": "2"}).content.decode()
    table = page[page.index('id="diff"') : page.index("</table>", page.index('id="diff"'))]
    rows = re.findall(
        r"<tr><td><code>([^<]+)</code></td><td[^>]*><code[^>]*>([^<]*)</code></td>"
        r"<td[^>]*><code[^>]*>([^<]*)</code>",
        table,
    )
    assert rows == [("image", "nginx:1.26", "nginx:1.27"), ("env.A", "1", "2"), ("replicas", "1", "3")]
    same = dev_client.get("/t/acme/apps/shop/", {"before": "2", "after": "2"}).content.decode()
    assert "These releases run the same way." in same
    assert dev_client.get("/t/acme/apps/shop/", {"before": "1", "after": "9"}).status_code == 200


def test_the_release_page_shows_everything_and_cannot_be_changed(dev_client, world):
    app_in(
        world,
        image="nginx:1.27",
        secret_refs=[{"name": "DB", "secret": "db", "key": "pw"}],
        ports=[{"name": "http", "port": 80}],
    )
    page = dev_client.get("/t/acme/apps/shop/releases/1/").content.decode()
    assert "nginx:1.27" in page and "<code>db</code>" in page and "http 80/TCP" in page
    assert dev_client.post("/t/acme/apps/shop/releases/1/", {"image": "evil:1"}).status_code == 405
    assert dev_client.get("/t/acme/apps/shop/releases/7/").status_code == 404


def test_viewers_read_the_details_but_cannot_edit_them(client, world):
    app_in(world)
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/apps/shop/edit/").content.decode()
    assert 'id="cannot-edit"' in page and 'name="team"' not in page
    assert "Edit details" not in client.get("/t/acme/apps/shop/").content.decode()
    response = client.post("/t/acme/apps/shop/edit/", {"team": "Hijack"})
    assert response.status_code == 400 and Application.objects.get(name="shop").team == ""


def test_editing_the_details(dev_client, world):
    app_in(world)
    response = dev_client.post(
        "/t/acme/apps/shop/edit/",
        {"description": "The shop", "team": "Web", "repository_url": "https://git.example.com/shop"},
    )
    assert response.status_code == 302
    assert Application.objects.get(name="shop").description == "The shop"
    response = dev_client.post("/t/acme/apps/shop/edit/", {"repository_url": "javascript:alert(1)"})
    assert response.status_code == 400 and field_refused(response.content.decode(), "repository_url", "http(s) URL")


# --- Operator template pages -------------------------------------------------------------------


def test_template_pages_are_for_operators_only(client, world):
    assert client.get("/operator/templates/")["Location"].startswith("/accounts/login/")
    client.force_login(world.user("owner"))
    assert client.get("/operator/templates/").status_code == 404
    assert (
        client.post("/operator/templates/new/", {"slug": "x", "name": "X", "component_kind": "web"}).status_code == 404
    )
    assert not ServiceTemplate.objects.exists()


def test_operators_publish_templates_and_new_versions(client, world, template):
    client.force_login(world.operator)
    page = client.get("/operator/templates/").content.decode()
    assert "web-service" in page and f"?from={template.pk}" in page
    prefilled = client.get(f"/operator/templates/new/?from={template.pk}").content.decode()
    assert 'value="web-service"' in input_tag(prefilled, "slug") and "&quot;port&quot;" in prefilled
    response = client.post(
        "/operator/templates/new/",
        {
            "slug": "web-service",
            "name": "Web service",
            "component_kind": "web",
            "parameter_schema": "",
            "defaults": '{"replicas": 2}',
        },
    )
    assert response.status_code == 302
    assert ServiceTemplate.objects.get(slug="web-service", version=2).defaults == {"replicas": 2}


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"parameter_schema": "{oops"}, "parameter_schema", "not valid JSON"),
        (
            {"parameter_schema": '{"type": "object", "properties": {"tags": {"type": "array"}}}'},
            "parameter_schema",
            "string, integer, boolean or an enum",
        ),
        ({"defaults": '{"memory_request": "500mi"}'}, "defaults", "did you mean “500Mi”"),
        ({"slug": "Bad Slug"}, "slug", "lower-case"),
    ],
)
def test_bad_templates_are_marked_on_their_field(client, world, data, field, words):
    client.force_login(world.operator)
    response = client.post(
        "/operator/templates/new/", {"slug": "thing", "name": "Thing", "component_kind": "web", **data}
    )
    assert response.status_code == 400 and field_refused(response.content.decode(), field, words)
    assert not ServiceTemplate.objects.exists()


def test_comparing_releases_reads_as_words(world, client):
    from tests.deployments.conftest import make_app, make_release

    app = make_app(world.acme, "shop")
    make_release(app, env={"MODE": "a"})
    make_release(app, ports=[{"name": "http", "port": 80}], env={"MODE": "b"})
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/apps/shop/?before=1&after=2").content.decode()
    diff = page[page.index('id="diff"') : page.index("</table>", page.index('id="diff"'))]
    assert "name=http, port=80" in diff and "env.MODE" in diff and "{&quot;" not in diff and "[{" not in diff


@pytest.mark.parametrize(
    "data, refused",
    [
        (
            {"cpu_request": "abc", "memory_request": "lots"},
            {"cpu_request": "not a CPU quantity", "memory_request": "not a memory quantity"},
        ),
        (
            {"autoscale_min": "5", "autoscale_max": "2", "autoscale_cpu_target": "500"},
            {"autoscale_max": "below the minimum", "autoscale_cpu_target": "1 to 100"},
        ),
        (
            {"image": "nginx", "replicas": "500", "ingress_host": "not a host!"},
            {"image": "a tag or a digest", "replicas": "from 0 to 100", "ingress_host": "is not a DNS name"},
        ),
    ],
    ids=["cpu-and-memory", "autoscaling", "image-replicas-host"],
)
def test_every_bad_release_field_is_marked_at_once(dev_client, world, data, refused):
    app_in(world)
    response = dev_client.post("/t/acme/apps/shop/releases/", {**RELEASE, **data})
    assert response.status_code == 400
    page = response.content.decode()
    for field, words in refused.items():
        assert field_refused(page, field, words), (field, re.findall(r'invalid-feedback">([^<]*)', page))
    assert not Release.objects.exists()


def test_a_parse_error_and_the_release_rules_are_marked_together(dev_client, world):
    """Malformed probe JSON and a bad port line fail in the form itself; the CPU, memory, image and
    autoscaling rules are the service's. One submit marks them all."""
    app_in(world)
    data = {
        **RELEASE,
        "image": "nginx",
        "liveness_probe": '{"httpGet": ',
        "ports": "http=eighty",
        "cpu_request": "abc",
        "memory_request": "lots",
        "autoscale_min": "x",
        "autoscale_max": "3",
        "autoscale_cpu_target": "500",
    }
    response = dev_client.post("/t/acme/apps/shop/releases/", data)
    assert response.status_code == 400
    page = response.content.decode()
    for field, words in {
        "liveness_probe": "not valid JSON",
        "ports": "is not a port",
        "autoscale_min": "Enter a whole number.",
        "image": "a tag or a digest",
        "cpu_request": "not a CPU quantity",
        "memory_request": "not a memory quantity",
        "autoscale_cpu_target": "1 to 100",
    }.items():
        assert field_refused(page, field, words), (field, re.findall(r'invalid-feedback">([^<]*)', page))
    # What depends on a field that did not parse is not judged: the readiness probe's named port,
    # the maximum against a minimum that is not a number.
    assert "is-invalid" not in input_tag(page, "readiness_probe")
    assert "is-invalid" not in input_tag(page, "autoscale_max")
    assert not Release.objects.exists()


def test_a_probe_naming_a_port_is_not_refused_when_the_ports_did_not_parse(dev_client, world):
    app_in(world)
    data = {**RELEASE, "ports": "http=eighty", "readiness_probe": '{"tcpSocket": {"port": "http"}}'}
    page = dev_client.post("/t/acme/apps/shop/releases/", data).content.decode()
    assert field_refused(page, "ports", "is not a port")
    assert "is-invalid" not in input_tag(page, "readiness_probe")


def test_the_application_page_shows_the_newest_releases_and_the_releases_page_all_of_them(world, client):
    from apps.catalog.views import RELEASES_PAGE, RELEASES_SHOWN
    from tests.deployments.conftest import make_app, make_release

    app = make_app(world.acme, "shop")
    total = RELEASES_PAGE + 5
    for _ in range(total):
        make_release(app)
    client.force_login(world.user("viewer"))

    page = client.get("/t/acme/apps/shop/").content.decode()
    shown = [int(n) for n in re.findall(r'href="/t/acme/apps/shop/releases/(\d+)/">#', page)]
    assert shown == list(range(total, total - RELEASES_SHOWN, -1))
    assert f'<span class="badge text-bg-light border ms-1">{total}</span>' in page
    assert 'id="older-releases"' in page and 'href="/t/acme/apps/shop/releases/">all releases</a>' in page
    # Any two releases compare, shown or not; one that does not exist is said so on its field.
    page = client.get(f"/t/acme/apps/shop/?before=1&after={total}").content.decode()
    assert 'id="diff"' in page
    page = client.get("/t/acme/apps/shop/?before=1&after=999").content.decode()
    assert "There is no release #999." in page and 'id="diff"' not in page
    assert client.get("/t/acme/apps/shop/?before=x&after=1").status_code == 200

    first = client.get("/t/acme/apps/shop/releases/").content.decode()
    numbers = [int(n) for n in re.findall(r'href="/t/acme/apps/shop/releases/(\d+)/">#', first)]
    assert numbers == list(range(total, total - RELEASES_PAGE, -1))
    older = re.search(r'href="\?before=(\d+)" id="older"', first)
    rest = client.get(f"/t/acme/apps/shop/releases/?before={older.group(1)}").content.decode()
    assert [int(n) for n in re.findall(r'href="/t/acme/apps/shop/releases/(\d+)/">#', rest)] == list(range(5, 0, -1))
    assert rest.count("latest</span>") == 0 and first.count("latest</span>") == 1
    assert "data-deploy-release" not in first  # a viewer deploys nothing


def test_an_application_without_releases_lists_none_on_either_page(world, client):
    from tests.deployments.conftest import make_app

    make_app(world.acme, "shop")
    client.force_login(world.user("developer"))
    assert "Describe the first one below." in client.get("/t/acme/apps/shop/").content.decode()
    page = client.get("/t/acme/apps/shop/releases/").content.decode()
    assert "No releases yet." in page and "Describe the first one below." not in page and 'id="older"' not in page
