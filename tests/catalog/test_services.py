"""Catalog services: applications from scratch and from templates, immutable numbered releases with
field-level refusals, diffs, versioned templates, the applications quota, and the audit trail."""

import pytest

from apps.audit.models import AuditEvent
from apps.catalog import services
from apps.catalog.demo import seed_catalog
from apps.catalog.models import Application, Release, ReleaseImmutableError, ServiceTemplate
from apps.catalog.parameters import INVALID_PARAMETERS
from apps.core.errors import TENANT_SUSPENDED, ApplicationError
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal
from apps.tenants.quotas import QUOTA_EXCEEDED, usage_of
from apps.tenants.services import quota_set, tenant_set_status

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "a" * 64
WEB_SCHEMA = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 8080},
        "replicas": {"type": "integer", "default": 2},
        "memory_request": {"type": "string", "enum": ["128Mi", "256Mi"], "default": "256Mi"},
        "public": {"type": "boolean", "default": False},
    },
}


def refusal(call, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value


@pytest.fixture
def dev(world):
    return world.user("developer")


@pytest.fixture
def web_template(world):
    return services.template_create(
        operator=world.operator_principal,
        slug="web-service",
        name="Web service",
        component_kind="web",
        parameter_schema=WEB_SCHEMA,
        defaults={
            "cpu_request": "150m",
            "env": {"MODE": "web"},
            "readiness_probe": {"httpGet": {"path": "/", "port": "http"}},
        },
    )


def make_app(world, name="shop", kind="web", **kwargs):
    return services.application_create(
        actor=world.principal("developer"), tenant=world.acme, name=name, component_kind=kind, **kwargs
    )


# --- Applications ------------------------------------------------------------------------------


def test_an_application_from_scratch_has_no_release_and_one_audit_event(world, dev):
    application = services.application_create(
        actor=as_principal(dev),
        tenant=world.acme,
        name="Shop ",
        component_kind="worker",
        description="Sells",
        team="Web",
        owner=dev,
        repository_url="https://github.com/acme/shop",
    )
    assert (application.name, application.component_kind, application.owner, application.template) == (
        "shop",
        "worker",
        dev,
        None,
    )
    assert not application.releases.exists()
    event = AuditEvent.objects.get(action="application.create")
    assert event.tenant_id == world.acme.pk and event.actor == dev
    assert event.changes["name"] == [None, "shop"]


def test_an_application_from_a_template_records_it_and_cuts_release_one(world, dev, web_template):
    application = services.application_create(
        actor=as_principal(dev),
        tenant=world.acme,
        name="shop",
        template=web_template,
        parameters={"image": "nginx:1.27", "port": 80},
    )
    assert application.template == web_template and application.component_kind == "web"
    assert application.template_parameters == {
        "image": "nginx:1.27",
        "port": 80,
        "replicas": 2,
        "memory_request": "256Mi",
        "public": False,
    }
    release = application.releases.get()
    assert release.number == 1 and release.image == "nginx:1.27"
    assert release.ports == [{"name": "http", "port": 80}]
    assert (release.replicas, release.cpu_request, release.memory_request) == (2, "150m", "256Mi")
    assert release.env == {"MODE": "web"} and release.readiness_probe["httpGet"]["port"] == "http"
    assert release.created_by == dev
    event = AuditEvent.objects.get(action="application.create")
    assert event.changes["template"] == [None, "web-service v1"] and event.changes["release"] == [None, 1]
    assert AuditEvent.objects.filter(tenant=world.acme, action__startswith="release").count() == 0


def test_a_template_without_an_image_makes_no_release(world, dev):
    template = services.template_create(
        operator=world.operator_principal, slug="bare", name="Bare", component_kind="worker"
    )
    application = services.application_create(
        actor=as_principal(dev), tenant=world.acme, name="bare", template=template
    )
    assert application.template_parameters == {} and not application.releases.exists()


@pytest.mark.parametrize(
    "parameters, field, words",
    [
        ({}, "parameters.image", "“image” is required"),
        ({"image": "nginx:1.27", "port": "eighty"}, "parameters.port", "is not of type 'integer'"),
        ({"image": "nginx:1.27", "port": 0}, "parameters.port", "less than the minimum"),
        ({"image": "nginx:1.27", "memory_request": "2Gi"}, "parameters.memory_request", "is not one of"),
        ({"image": "nginx"}, "parameters.image", "tag or a digest"),
        ({"image": "nginx:1.27", "replicas": 500}, "parameters.replicas", "0 to 100"),
    ],
)
def test_template_parameters_are_checked_against_the_schema(world, dev, web_template, parameters, field, words):
    error = refusal(
        services.application_create,
        actor=as_principal(dev),
        tenant=world.acme,
        name="shop",
        template=web_template,
        parameters=parameters,
    )
    assert error.field == field and words in error.message
    assert not Application.objects.filter(tenant=world.acme).exists()


def test_schema_errors_carry_a_stable_code(world, dev, web_template):
    error = refusal(
        services.application_create,
        actor=as_principal(dev),
        tenant=world.acme,
        name="shop",
        template=web_template,
        parameters={"image": "nginx:1.27", "port": "x"},
    )
    assert error.code == INVALID_PARAMETERS


def test_a_retired_template_and_a_contradicting_kind_are_refused(world, dev, web_template):
    error = refusal(make_app, world=world, kind="cron", template=web_template, parameters={"image": "nginx:1.27"})
    assert (error.code, error.field) == (services.KIND_MISMATCH, "component_kind")
    ServiceTemplate.objects.filter(pk=web_template.pk).update(is_active=False)
    web_template.refresh_from_db()
    error = refusal(make_app, world=world, kind="", template=web_template, parameters={"image": "nginx:1.27"})
    assert (error.code, error.field) == (services.TEMPLATE_RETIRED, "template")


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"name": "Not a slug!"}, "name", "lower-case letters"),
        ({"name": "new"}, "name", "reserved"),
        ({"name": "paas-maintenance"}, "name", "reserved"),  # the routes' maintenance server's objects
        ({"repository_url": "git@github.com:acme/shop.git"}, "repository_url", "http(s) URL"),
        ({"kind": "daemon"}, "component_kind", "not a kind"),
    ],
)
def test_bad_application_details_name_their_field(world, kwargs, field, words):
    error = refusal(make_app, world=world, **{"name": "shop", **kwargs})
    assert error.field == field and words in error.message


def test_the_owner_must_be_a_member_and_names_are_unique(world):
    error = refusal(make_app, world=world, owner=world.outsider)
    assert error.field == "owner"
    make_app(world)
    error = refusal(make_app, world=world)
    assert (error.code, error.field) == (services.NAME_TAKEN, "name")


def test_viewers_and_suspended_tenants_cannot_create(world):
    error = refusal(services.application_create, actor=world.principal("viewer"), tenant=world.acme, name="shop")
    assert (error.code, error.status) == ("permission_denied", 403)
    tenant_set_status(
        operator=world.operator_principal, tenant=world.acme, status=Tenant.Status.SUSPENDED, reason="unpaid"
    )
    error = refusal(make_app, world=world)
    assert error.code == TENANT_SUSPENDED


def test_applications_count_against_the_quota_and_the_refusal_names_it(world):
    make_app(world, name="one")
    assert usage_of("applications", world.acme) == 1
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="applications", limit=2)
    make_app(world, name="two")
    error = refusal(make_app, world=world, name="three")
    assert (error.code, error.status) == (QUOTA_EXCEEDED, 409)
    assert "Applications quota of tenant acme is 2" in error.message and "2 in use" in error.message
    assert not Application.objects.filter(name="three").exists()


def test_update_changes_the_details_and_records_what_changed(world, dev):
    application = make_app(world)
    services.application_update(
        actor=as_principal(dev),
        application=application,
        description="The shop",
        owner=dev,
        repository_url="https://git.example.com/shop",
    )
    application.refresh_from_db()
    assert (application.description, application.owner, application.name) == ("The shop", dev, "shop")
    event = AuditEvent.objects.get(action="application.update")
    assert event.changes["owner"] == [None, dev.email] and "team" not in event.changes
    services.application_update(actor=as_principal(dev), application=application, owner=None)
    application.refresh_from_db()
    assert application.owner is None


def test_update_refuses_viewers_and_bad_values(world):
    application = make_app(world)
    assert (
        refusal(services.application_update, actor=world.principal("viewer"), application=application, team="x").status
        == 403
    )
    error = refusal(
        services.application_update,
        actor=world.principal("developer"),
        application=application,
        repository_url="ftp://example.com/x",
    )
    assert error.field == "repository_url"


# --- Releases ----------------------------------------------------------------------------------


def test_releases_are_numbered_one_after_another_per_application(world, dev):
    shop, mail = make_app(world), make_app(world, name="mail", kind="worker")
    numbers = [
        services.release_create(actor=as_principal(dev), application=shop, image=f"nginx:1.{i}").number
        for i in range(3)
    ]
    assert numbers == [1, 2, 3]
    assert services.release_create(actor=as_principal(dev), application=mail, image="busybox:1.36").number == 1
    assert AuditEvent.objects.filter(action="release.create").count() == 4


def test_a_release_is_complete_and_remembers_its_digest(world, dev):
    release = services.release_create(
        actor=as_principal(dev),
        application=make_app(world),
        image=f"ghcr.io/acme/shop@{DIGEST}",
        env={"LOG_LEVEL": "info"},
        secret_refs=[{"name": "DB_PASSWORD", "secret": "db", "key": "password"}],
        ports=[{"name": "http", "port": 8080}],
        replicas=3,
        cpu_request="0.5",
        cpu_limit="1",
        memory_request="256Mi",
        memory_limit="1Gi",
        liveness_probe={"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        readiness_probe={"tcpSocket": {"port": 8080}},
        ingress_host="shop.acme.example.com",
        autoscale_min=2,
        autoscale_max=6,
        autoscale_cpu_target=70,
        notes="launch",
    )
    release.refresh_from_db()
    assert release.image_digest == DIGEST and release.ingress_path == "/"
    assert (release.replicas, release.autoscale_max, release.notes) == (3, 6, "launch")


def test_a_stored_release_cannot_change(world, dev):
    release = services.release_create(actor=as_principal(dev), application=make_app(world), image="nginx:1.27")
    release.replicas = 5
    with pytest.raises(ReleaseImmutableError):
        release.save()
    assert Release.objects.get(pk=release.pk).replicas == 1
    policy = policy_for(Release)
    assert not policy.can(world.user("owner"), "change", release)
    assert not policy.can(world.user("owner"), "delete", release)
    assert not hasattr(services, "release_update")


def test_viewers_cannot_cut_releases(world):
    application = make_app(world)
    error = refusal(
        services.release_create, actor=world.principal("viewer"), application=application, image="nginx:1.27"
    )
    assert error.status == 403 and not application.releases.exists()


GOOD = {"image": "nginx:1.27"}
BAD_RELEASES = [
    ("web", {"image": ""}, "image", "Give the container image"),
    ("web", {"image": "nginx"}, "image", "tag or a digest"),
    ("web", {"image": "Nginx:1.27"}, "image", "not an image reference"),
    ("web", {"image": "nginx@sha256:abc"}, "image", "not an image reference"),
    ("web", {"image": "nginx:1.27 latest"}, "image", "not an image reference"),
    ("web", {"env": {"1BAD": "x"}}, "env", "not a valid environment variable name"),
    ("web", {"env": {"BAD-NAME": "x"}}, "env", "not a valid environment variable name"),
    ("web", {"env": {"PORT": 8080}}, "env", "must be a string"),
    ("web", {"env": ["A=1"]}, "env", "object of NAME: value"),
    ("web", {"secret_refs": [{"name": "DB"}]}, "secret_refs", "Each secret reference is"),
    ("web", {"secret_refs": [{"name": "DB", "secret": "Bad_Secret", "key": "k"}]}, "secret_refs", "not a Secret name"),
    ("web", {"secret_refs": [{"name": "DB", "secret": "db", "key": "a b"}]}, "secret_refs", "not a Secret key"),
    (
        "web",
        {"env": {"DB": "x"}, "secret_refs": [{"name": "DB", "secret": "db", "key": "k"}]},
        "secret_refs",
        "set twice",
    ),
    ("web", {"ports": [{"port": 0}]}, "ports", "out of range"),
    ("web", {"ports": [{"port": 65536}]}, "ports", "out of range"),
    ("web", {"ports": [{"port": 80}, {"port": 80}]}, "ports", "listed twice"),
    ("web", {"ports": [{"name": "HTTP", "port": 80}]}, "ports", "not a port name"),
    ("web", {"ports": [{"port": 80, "protocol": "ICMP"}]}, "ports", "not TCP, UDP or SCTP"),
    ("web", {"replicas": -1}, "replicas", "0 to 100"),
    ("web", {"replicas": 101}, "replicas", "0 to 100"),
    ("web", {"replicas": True}, "replicas", "0 to 100"),
    ("web", {"cpu_request": "lots"}, "cpu_request", "not a CPU quantity"),
    ("web", {"cpu_request": "0"}, "cpu_request", "above zero"),
    ("web", {"cpu_request": "0.0001"}, "cpu_request", "not a CPU quantity"),
    ("web", {"cpu_request": "200m", "cpu_limit": "100m"}, "cpu_limit", "below the request"),
    ("web", {"memory_request": "500mi"}, "memory_request", "did you mean “500Mi”"),
    ("web", {"memory_request": "500m"}, "memory_request", "thousandths of a byte"),
    ("web", {"memory_request": "1GB"}, "memory_request", "not a memory quantity"),
    ("web", {"memory_request": "1Gi", "memory_limit": "512Mi"}, "memory_limit", "below the request"),
    ("web", {"liveness_probe": {"httpGet": {"port": 80}}}, "liveness_probe", "path starting with /"),
    (
        "web",
        {"liveness_probe": {"httpGet": {"path": "/", "port": 80}, "tcpSocket": {"port": 80}}},
        "liveness_probe",
        "exactly one of",
    ),
    ("web", {"readiness_probe": {"exec": {"command": []}}}, "readiness_probe", "command list"),
    ("web", {"readiness_probe": {"tcpSocket": {"port": "metrics"}}}, "readiness_probe", "neither a number"),
    (
        "web",
        {"readiness_probe": {"tcpSocket": {"port": 80}, "periodSeconds": 0}},
        "readiness_probe",
        "periodSeconds must be",
    ),
    ("web", {"readiness_probe": {"tcpSocket": {"port": 80}, "retries": 3}}, "readiness_probe", "Unknown probe"),
    ("web", {"ports": [{"port": 80}], "ingress_host": "Shop Example"}, "ingress_host", "not a DNS name"),
    ("web", {"ports": [{"port": 80}], "ingress_host": "localhost"}, "ingress_host", "not a DNS name"),
    ("web", {"ingress_host": "shop.example.com"}, "ports", "needs a port"),
    ("worker", {"ingress_host": "shop.example.com"}, "ingress_host", "Only web services"),
    ("web", {"autoscale_min": 5, "autoscale_max": 2, "autoscale_cpu_target": 50}, "autoscale_max", "below the minimum"),
    ("web", {"autoscale_min": 1, "autoscale_max": 2, "autoscale_cpu_target": 0}, "autoscale_cpu_target", "1 to 100"),
    ("web", {"autoscale_min": 1}, "autoscale_max", "together"),
    ("cron", {"autoscale_min": 1, "autoscale_max": 2, "autoscale_cpu_target": 50}, "autoscale_min", "do not autoscale"),
    ("cron", {}, "schedule", "needs a schedule"),
    ("cron", {"schedule": "* * *"}, "schedule", "has 3 fields"),
    ("cron", {"schedule": "61 * * * *"}, "schedule", "minute field"),
    ("cron", {"schedule": "0 3 * 13 *"}, "schedule", "month field"),
    ("worker", {"schedule": "0 3 * * *"}, "schedule", "Only cron jobs"),
    ("web", {"command": "run"}, "command", "list of strings"),
    ("web", {"colour": "blue"}, "colour", "not a release field"),
]


@pytest.mark.parametrize(
    "kind, fields, field, words", BAD_RELEASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD_RELEASES)]
)
def test_bad_release_fields_are_refused_by_name(world, kind, fields, field, words):
    application = make_app(world, kind=kind)
    error = refusal(
        services.release_create, actor=world.principal("developer"), application=application, **{**GOOD, **fields}
    )
    assert (error.code, error.field) == ("invalid", field)
    assert words in error.message, error.message
    assert not application.releases.exists()


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("cron", {"schedule": "*/15 9-17 * * MON-FRI"}),
        ("cron", {"schedule": "@hourly"}),
        ("cron", {"schedule": "0 0 1 JAN,JUL *"}),
        (
            "web",
            {"cpu_request": "2", "memory_request": "500M", "image": "registry.example.com:5000/team/app_x:v1.2-rc.1"},
        ),
        ("worker", {"readiness_probe": {"exec": {"command": ["cat", "/tmp/ready"]}, "initialDelaySeconds": 0}}),
    ],
)
def test_good_release_fields_pass(world, kind, fields):
    release = services.release_create(
        actor=world.principal("developer"), application=make_app(world, kind=kind), **{**GOOD, **fields}
    )
    assert release.number == 1


def test_the_diff_lists_changes_in_reading_order_with_env_one_by_one(world, dev):
    application = make_app(world)
    first = services.release_create(
        actor=as_principal(dev), application=application, image="nginx:1.26", env={"A": "1", "B": "2"}, replicas=2
    )
    second = services.release_create(
        actor=as_principal(dev),
        application=application,
        image="nginx:1.27",
        env={"A": "1", "B": "3", "C": "new"},
        replicas=2,
        memory_request="256Mi",
        notes="bump",
    )
    assert services.release_diff(first, second) == [
        ("image", "nginx:1.26", "nginx:1.27"),
        ("env.B", "2", "3"),
        ("env.C", None, "new"),
        ("memory_request", "128Mi", "256Mi"),
    ]
    assert services.release_diff(first, first) == []
    event = AuditEvent.objects.filter(action="release.create").order_by("-id").first()
    assert event.changes["number"] == [1, 2]
    assert event.changes["fields"] == [None, "image, env.B, env.C, memory_request"]


def test_the_diff_refuses_releases_of_different_applications(world, dev):
    one = services.release_create(actor=as_principal(dev), application=make_app(world), image="nginx:1.27")
    other = services.release_create(
        actor=as_principal(dev), application=make_app(world, name="other"), image="nginx:1.27"
    )
    assert refusal(services.release_diff, before=one, after=other).field == "against"


# --- Templates ---------------------------------------------------------------------------------


def test_publishing_an_existing_slug_makes_the_next_version(world, web_template, dev):
    make_app(world, template=web_template, kind="", parameters={"image": "nginx:1.27"})
    second = services.template_create(
        operator=world.operator_principal,
        slug="web-service",
        name="Web service",
        component_kind="web",
        parameter_schema=WEB_SCHEMA,
    )
    assert (web_template.version, second.version) == (1, 2)
    assert Application.objects.get(name="shop").template == web_template
    events = AuditEvent.objects.filter(action="template.create").order_by("id")
    assert [e.changes["version"] for e in events] == [[None, 1], [None, 2]]
    assert all(e.tenant_id is None and e.actor == world.operator for e in events)


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"parameter_schema": {"type": "strin"}}, "parameter_schema", "Not a valid JSON schema"),
        ({"parameter_schema": {"type": "array"}}, "parameter_schema", "describes an object"),
        (
            {"parameter_schema": {"type": "object", "properties": {"tags": {"type": "array"}}}},
            "parameter_schema",
            "string, integer, boolean or an enum",
        ),
        (
            {"parameter_schema": {"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}}},
            "parameter_schema",
            "does not meet its own schema",
        ),
        (
            {"parameter_schema": {"type": "object", "required": ["ghost"], "properties": {}}},
            "parameter_schema",
            "without a property",
        ),
        ({"defaults": {"colour": "blue"}}, "defaults", "Not release fields: colour"),
        ({"defaults": {"memory_request": "500mi"}}, "defaults", "did you mean “500Mi”"),
        ({"slug": "Web Service"}, "slug", "lower-case"),
        ({"component_kind": "daemon"}, "component_kind", "not a valid choice"),
    ],
)
def test_bad_templates_are_refused_by_field(world, kwargs, field, words):
    arguments = {"slug": "thing", "name": "Thing", "component_kind": "web", **kwargs}
    error = refusal(services.template_create, operator=world.operator_principal, **arguments)
    assert error.field == field and words in error.message, error.message
    assert not ServiceTemplate.objects.exists()


def test_a_new_version_keeps_the_kind_and_only_operators_publish(world, web_template):
    error = refusal(
        services.template_create,
        operator=world.operator_principal,
        slug="web-service",
        name="Web",
        component_kind="worker",
    )
    assert error.code == services.KIND_MISMATCH
    error = refusal(
        services.template_create, operator=world.principal("owner"), slug="mine", name="Mine", component_kind="web"
    )
    assert error.status == 403 and not ServiceTemplate.objects.filter(slug="mine").exists()


def test_the_demo_catalog_is_created_once(world):
    users = {"operator@example.com": world.operator, "developer@acme.example.com": world.user("developer")}
    seed_catalog(users)
    seed_catalog(users)
    assert sorted(ServiceTemplate.objects.values_list("slug", "version")) == [
        ("cron-job", 1),
        ("redis-cache", 1),
        ("web-service", 1),
        ("worker", 1),
    ]
    storefront = Application.objects.get(tenant=world.acme, name="storefront")
    mailer = Application.objects.get(tenant=world.acme, name="mailer")
    front, mail = storefront.releases.get(), mailer.releases.get()
    assert (front.number, front.image, front.ports) == (1, "nginx:1.27", [{"name": "http", "port": 80}])
    assert (mailer.component_kind, mail.number, mail.image) == ("worker", 1, "busybox:1.36")
    assert storefront.template.slug == "web-service"
