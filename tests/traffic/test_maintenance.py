"""Maintenance and degrade switches: through the API, applied to the sandbox cluster with either renderer
(the route's backend read back from the cluster both ways, the maintenance server made and removed),
windows switched by beat's task function, and governed environments waiting for approval."""

import datetime

import pytest
from django.utils import timezone

from apps.approvals.models import ChangeRequest
from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.clusters.services import cluster_register, cluster_traffic_set, environment_provision
from apps.tenants.models import Environment
from apps.tenants.roles import Role
from apps.traffic import maintenance
from apps.traffic.models import Route
from apps.traffic.services import route_apply, route_remove_objects
from apps.traffic.switches import maintenance_windows_run
from tests.approvals.conftest import govern

from .conftest import body

pytestmark = pytest.mark.django_db

URL = "/api/v1/routes/"
INGRESS = ("networking.k8s.io/v1", "Ingress")
HTTPROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")
SERVER = maintenance.SERVER_NAME


@pytest.fixture
def cluster(world, sandbox):
    cluster = cluster_register(
        operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url
    )
    for environment in Environment.objects.filter(tenant=world.acme, name__in=["dev", "prod"]):
        environment_provision(environment=environment)
    return cluster


@pytest.fixture
def kube(sandbox):
    return KubeClient(sandbox.api_client())


def _route(api, world, **fields) -> Route:
    api.as_user(world.user(Role.DEVELOPER))
    created = api.post(URL, body(**{"path": "/api", **fields}), format="json")
    assert created.status_code in (201, 202), created.content
    route = Route.objects.get(pk=created.json()["id"])
    if route.state != Route.State.WAITING:
        assert route_apply(route_id=route.pk).state == Route.State.APPLIED
    return route


def _backend(kube, kind, route) -> tuple[str, int]:
    live = kube.get(*kind, route.name, route.environment.namespace)
    if kind == HTTPROUTE:
        ref = live["spec"]["rules"][0]["backendRefs"][0]
        return ref["name"], ref["port"]
    service = live["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    return service["name"], service["port"]["number"]


def _server(kube, namespace) -> dict:
    return {kind: kube.get(api, kind, SERVER, namespace) for api, kind in maintenance.KINDS}


def _switch(api, route, what="maintenance", **payload):
    response = api.post(f"{URL}{route.pk}/{what}/", payload, format="json")
    assert response.status_code == 200, response.content
    assert route_apply(route_id=route.pk).state == Route.State.APPLIED  # what the worker runs after commit
    return response.json()


@pytest.mark.parametrize("renderer", ["ingress_nginx", "gateway_api"])
def test_maintenance_on_and_off_through_the_api(api, world, shop, cluster, kube, renderer):
    if renderer == "gateway_api":
        cluster_traffic_set(
            operator=world.operator_principal,
            cluster=cluster,
            traffic_renderer="gateway_api",
            gateway_namespace="gateways",
            gateway_name="edge",
        )
    kind = HTTPROUTE if renderer == "gateway_api" else INGRESS
    route = _route(api, world)
    namespace = route.environment.namespace
    assert _backend(kube, kind, route) == ("shop", 8080)
    assert _server(kube, namespace) == {"ConfigMap": None, "Deployment": None, "Service": None}

    shown = _switch(api, route, enabled=True, message="Back at <b>noon</b> & later", retry_after_seconds=600)
    assert shown["maintenance"] is True and shown["maintenance_message"] == "Back at <b>noon</b> & later"
    assert _backend(kube, kind, route) == (SERVER, maintenance.SERVER_PORT)
    server = _server(kube, namespace)
    assert all(server.values())
    page = server["ConfigMap"]["data"][f"route-{route.pk}.html"]
    assert "Back at &lt;b&gt;noon&lt;/b&gt; &amp; later" in page and "<b>noon" not in page
    config = server["ConfigMap"]["data"]["default.conf"]
    assert "server_name shop.acme-corp.com;" in config and 'location ^~ "/api"' in config
    assert "return 503;" in config and "add_header Retry-After 600 always;" in config
    container = server["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginxinc/nginx-unprivileged:1.27-alpine"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert server["Service"]["spec"]["ports"][0]["port"] == maintenance.SERVER_PORT
    assert "paas.dev/application" not in server["Deployment"]["metadata"]["labels"]  # not an application's workload

    off = _switch(api, route, enabled=False)
    assert off["maintenance"] is False
    assert _backend(kube, kind, route) == ("shop", 8080)
    assert _server(kube, namespace) == {"ConfigMap": None, "Deployment": None, "Service": None}

    events = AuditEvent.objects.filter(action="route.maintenance").order_by("pk")
    assert [event.changes["maintenance"] for event in events] == [[False, True], [True, False]]


def test_the_server_stays_while_another_route_of_the_namespace_needs_it(api, world, shop, cluster, kube):
    first = _route(api, world)
    second = _route(api, world, path="/web", name="shop-web")
    namespace = first.environment.namespace
    _switch(api, first, enabled=True)
    _switch(api, second, "degrade", enabled=True, message="Recommendations are resting")
    data = _server(kube, namespace)["ConfigMap"]["data"]
    assert {f"route-{first.pk}.html", f"route-{second.pk}.html"} <= set(data)
    assert "Recommendations are resting" in data[f"route-{second.pk}.html"]
    assert f"try_files /route-{second.pk}.html =404;" in data["default.conf"]  # a 200 page, not the 503

    _switch(api, first, enabled=False)
    assert _backend(kube, INGRESS, first) == ("shop", 8080)
    data = _server(kube, namespace)["ConfigMap"]["data"]
    assert f"route-{first.pk}.html" not in data and f"route-{second.pk}.html" in data
    assert _backend(kube, INGRESS, second) == (SERVER, maintenance.SERVER_PORT)

    # deleting the last route that needs it takes the server away
    api.delete(f"{URL}{second.pk}/")
    route_remove_objects(environment_id=second.environment_id, name=second.name, route_id=second.pk)
    assert _server(kube, namespace) == {"ConfigMap": None, "Deployment": None, "Service": None}


def test_degrade_serves_a_fallback_and_is_audited(api, world, shop, cluster, kube):
    route = _route(api, world)
    shown = _switch(api, route, "degrade", enabled=True, message="Try again in a minute")
    assert shown["degraded"] is True and shown["maintenance"] is False
    assert _backend(kube, INGRESS, route) == (SERVER, maintenance.SERVER_PORT)
    config = _server(kube, route.environment.namespace)["ConfigMap"]["data"]["default.conf"]
    assert "return 503;" not in config and "Retry-After" not in config
    _switch(api, route, "degrade", enabled=False)
    assert _backend(kube, INGRESS, route) == ("shop", 8080)
    assert AuditEvent.objects.filter(action="route.degrade").count() == 2


def test_a_name_the_portal_did_not_make_is_not_taken_over(api, world, shop, cluster, kube):
    route = _route(api, world)
    namespace = route.environment.namespace
    kube.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": SERVER, "namespace": namespace}}])
    api.post(f"{URL}{route.pk}/maintenance/", {"enabled": True}, format="json")
    failed = route_apply(route_id=route.pk)
    assert failed.state == Route.State.FAILED and "not made by the portal" in failed.last_error
    assert _backend(kube, INGRESS, route) == ("shop", 8080)  # the route still reaches the application


BAD = [
    ({"enabled": "perhaps"}, "enabled"),
    ({"enabled": True, "message": "x" * 2001}, "message"),
    ({"enabled": True, "retry_after_seconds": 0}, "retry_after_seconds"),
    ({"enabled": True, "retry_after_seconds": 86401}, "retry_after_seconds"),
    ({"enabled": True, "ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
    ({"enabled": False, "starts_at": "2099-01-01T00:00:00Z"}, "starts_at"),
    ({"enabled": True, "starts_at": "2099-01-02T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}, "ends_at"),
    ({"enabled": True, "surprise": 1}, "surprise"),
]


@pytest.mark.parametrize("payload, field", BAD, ids=[field for _, field in BAD])
def test_bad_switches_are_a_400_naming_the_field(api, world, shop, payload, field):
    api.as_user(world.user(Role.DEVELOPER))
    route_id = api.post(URL, body(), format="json").json()["id"]
    response = api.post(f"{URL}{route_id}/maintenance/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Route.objects.get(pk=route_id).maintenance


def test_a_viewer_cannot_switch(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    route_id = api.post(URL, body(), format="json").json()["id"]
    api.as_user(world.user(Role.VIEWER))
    assert api.post(f"{URL}{route_id}/maintenance/", {"enabled": True}, format="json").status_code == 403
    assert api.post(f"{URL}{route_id}/degrade/", {"enabled": True}, format="json").status_code == 403
    assert not Route.objects.get(pk=route_id).serves_fallback


def test_a_scheduled_window_is_switched_on_and_off_by_beat(api, world, shop, cluster, kube):
    route = _route(api, world)
    now = timezone.now()
    starts, ends = now + datetime.timedelta(minutes=5), now + datetime.timedelta(hours=1)
    shown = api.post(
        f"{URL}{route.pk}/maintenance/",
        {"enabled": True, "message": "Database upgrade", "starts_at": starts.isoformat(), "ends_at": ends.isoformat()},
        format="json",
    ).json()
    assert shown["maintenance"] is False and shown["maintenance_starts_at"] is not None

    assert maintenance_windows_run(now=now) == {"started": 0, "ended": 0}
    assert maintenance_windows_run(now=starts + datetime.timedelta(seconds=1)) == {"started": 1, "ended": 0}
    route.refresh_from_db()
    assert route.maintenance and route.maintenance_starts_at is None and route.state == Route.State.PENDING
    assert route_apply(route_id=route.pk).state == Route.State.APPLIED
    assert _backend(kube, INGRESS, route) == (SERVER, maintenance.SERVER_PORT)
    assert (
        "Database upgrade" in _server(kube, route.environment.namespace)["ConfigMap"]["data"][f"route-{route.pk}.html"]
    )

    assert maintenance_windows_run(now=ends) == {"started": 0, "ended": 1}
    route.refresh_from_db()
    assert not route.maintenance and route.maintenance_ends_at is None
    route_apply(route_id=route.pk)
    assert _backend(kube, INGRESS, route) == ("shop", 8080)
    assert _server(kube, route.environment.namespace)["Deployment"] is None

    by_platform = AuditEvent.objects.filter(action="route.maintenance", actor__isnull=True)
    assert by_platform.count() == 2  # beat switched as the platform, through the same audit


def test_a_window_beat_missed_entirely_switches_nothing(api, world, shop):
    api.as_user(world.user(Role.DEVELOPER))
    route_id = api.post(URL, body(), format="json").json()["id"]
    now = timezone.now()
    window = {"enabled": True, "starts_at": (now + datetime.timedelta(minutes=1)).isoformat()}
    window["ends_at"] = (now + datetime.timedelta(minutes=2)).isoformat()
    assert api.post(f"{URL}{route_id}/maintenance/", window, format="json").status_code == 200
    assert maintenance_windows_run(now=now + datetime.timedelta(hours=1)) == {"started": 0, "ended": 1}
    route = Route.objects.get(pk=route_id)
    assert not route.maintenance and route.maintenance_starts_at is None and route.maintenance_ends_at is None


def test_a_switch_in_a_governed_environment_waits_for_approval(api, world, shop, cluster, kube):
    from apps.approvals.services.requests import change_request_decide, change_request_execute

    prod = world.acme.environments.get(name="prod")
    govern(world, prod, ("owners", 1, [Role.OWNER], []))
    route = Route.objects.create(
        tenant=world.acme,
        environment=prod,
        application=shop,
        name="shop",
        host="shop.acme-corp.com",
        path="/",
        service_port=8080,
    )
    route_apply(route_id=route.pk)
    api.as_user(world.user(Role.DEVELOPER))
    refused = api.post(f"{URL}{route.pk}/maintenance/", {"enabled": True}, format="json")
    assert refused.status_code == 400 and "justification" in refused.json()["fields"]

    waiting = api.post(
        f"{URL}{route.pk}/maintenance/",
        {"enabled": True, "message": "Upgrade", "justification": "database upgrade"},
        format="json",
    )
    assert waiting.status_code == 202, waiting.content
    request = ChangeRequest.objects.get(pk=waiting.json()["change_request"])
    assert request.kind == "route" and request.params["op"] == "maintenance"
    route.refresh_from_db()
    assert not route.maintenance  # unchanged until approved
    assert not AuditEvent.objects.filter(action="route.maintenance").exists()

    change_request_decide(actor=world.principal(Role.OWNER), change_request=request, verdict="approve")
    change_request_execute(change_request=request)  # what the task that carries approved changes out runs
    route.refresh_from_db()
    assert route.maintenance and route.maintenance_message == "Upgrade"
    route_apply(route_id=route.pk)
    assert _backend(kube, INGRESS, route) == (SERVER, maintenance.SERVER_PORT)
    event = AuditEvent.objects.get(action="route.maintenance")
    assert event.actor == world.user(Role.DEVELOPER)  # carried out as the member who asked


def test_switches_reach_webhooks_subscribed_to_route_events(api, world, shop, django_capture_on_commit_callbacks):
    from apps.webhooks.models import WebhookDelivery
    from tests.webhooks.conftest import private_endpoint

    endpoint = private_endpoint(world.acme, "http://127.0.0.1:9/hook", events=("route.*",))
    api.as_user(world.user(Role.DEVELOPER))
    route_id = api.post(URL, body(), format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{URL}{route_id}/maintenance/", {"enabled": True}, format="json")
        api.post(f"{URL}{route_id}/degrade/", {"enabled": True}, format="json")
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    assert [delivery.event for delivery in deliveries] == ["route.maintenance", "route.degraded"]
    first, second = (delivery.payload["data"] for delivery in deliveries)
    assert first["route"] == route_id and first["maintenance"] is True and first["degraded"] is False
    assert second["maintenance"] is True and second["degraded"] is True


def test_removing_the_application_takes_its_page_and_the_server_away(
    api, world, shop, cluster, kube, django_capture_on_commit_callbacks
):
    from apps.core.traffic import routes_removed
    from apps.traffic.services import maintenance_server_sync

    route = _route(api, world)
    _switch(api, route, enabled=True)
    namespace = route.environment.namespace
    assert _server(kube, namespace)["Deployment"] is not None
    with django_capture_on_commit_callbacks() as sent:
        routes_removed(application=shop, environment=route.environment)  # what the application's removal calls
    assert len(sent) == 1  # the server's sync, sent to a worker after commit
    maintenance_server_sync(environment_id=route.environment_id)  # what that worker runs
    assert _server(kube, namespace) == {"ConfigMap": None, "Deployment": None, "Service": None}
    assert Route.objects.get(pk=route.pk).state == Route.State.REMOVED
