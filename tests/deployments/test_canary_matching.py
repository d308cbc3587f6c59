"""Canaries that match requests by header or cookie: the canary's Ingress annotations on ingress-nginx,
the rules of the route's HTTPRoute on the Gateway API (valid against the CRD's schema), applied and
read back from the sandbox cluster through a real worker, gone after promotion and after a cancel;
and bad input refused naming the field before anything is stored or applied."""

import re

import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register, cluster_traffic_set, environment_provision
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.strategies.manifests import cookie_pattern, render_canary
from apps.tenants.models import Environment
from tests.conftest import wait_for
from tests.traffic.test_renderers import http_route_validator

from .conftest import make_app, make_release, registered
from .test_manifests import K8S_VERSION, kubernetes_validate
from .test_pipeline import URL, assert_gap_free, deploy, finished

NGINX = "nginx.ingress.kubernetes.io"
HEADER = {"name": "X-Canary", "value": "always"}
NAMESPACE = "acme--dev"
HTTPROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")


def _gateway(world, cluster=None):
    cluster = cluster or Cluster.objects.get(name="sandbox")
    cluster_traffic_set(
        operator=world.operator_principal,
        cluster=cluster,
        traffic_renderer="gateway_api",
        gateway_namespace="gateways",
        gateway_name="edge",
    )


def _routed_release(world):
    from apps.core.traffic import route_for_release
    from apps.tenants.roles import Role

    app = make_app(world.acme, name="shop")
    release = make_release(app, ingress_host="shop.acme.example", ingress_path="/api")
    dev = world.acme.environments.get(name="dev")
    route_for_release(release=release, environment=dev, actor=world.principal(Role.DEVELOPER))
    return release, dev


# --- Rendering ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_canary_ingress_carries_the_header_and_cookie_annotations(world):
    release, dev = _routed_release(world)
    [ingress] = [
        m
        for m in render_canary(
            release, dev, 7, weight=0, progress_deadline_seconds=60, match_header=HEADER, match_cookie="canary"
        )
        if m["kind"] == "Ingress"
    ]
    kubernetes_validate.validate(ingress, K8S_VERSION, strict=True)
    annotations = ingress["metadata"]["annotations"]
    assert {key: annotations.get(f"{NGINX}/{key}") for key in ("canary", "canary-weight")} == {
        "canary": "true",
        "canary-weight": "0",
    }
    assert annotations[f"{NGINX}/canary-by-header"] == "X-Canary"
    assert annotations[f"{NGINX}/canary-by-header-value"] == "always"
    assert annotations[f"{NGINX}/canary-by-cookie"] == "canary"
    assert ingress["metadata"]["name"] == "shop-canary"
    assert ingress["spec"]["rules"][0]["host"] == "shop.acme.example"


@pytest.mark.django_db
def test_on_the_gateway_api_the_route_gets_a_match_rule_before_the_weighted_one(world, sandbox):
    cluster = cluster_register(
        operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url
    )
    for environment in Environment.objects.filter(tenant=world.acme, name="dev"):
        environment_provision(environment=environment)
    _gateway(world, cluster)
    release, dev = _routed_release(world)
    objects = render_canary(
        release, dev, 7, weight=10, progress_deadline_seconds=60, match_header=HEADER, match_cookie="canary"
    )
    assert [m["kind"] for m in objects] == ["ConfigMap", "Deployment", "Service", "HTTPRoute"]
    [route] = [m for m in objects if m["kind"] == "HTTPRoute"]
    assert sorted(e.message for e in http_route_validator().iter_errors(route)) == []
    assert route["metadata"]["name"] == "shop" and route["spec"]["hostnames"] == ["shop.acme.example"]
    matched, weighted = route["spec"]["rules"]
    path = {"type": "PathPrefix", "value": "/api"}
    assert matched["matches"] == [
        {"path": path, "headers": [{"type": "Exact", "name": "X-Canary", "value": "always"}]},
        {"path": path, "headers": [{"type": "RegularExpression", "name": "Cookie", "value": cookie_pattern("canary")}]},
    ]
    assert matched["backendRefs"] == [{"name": "shop-canary", "port": 8080}]
    assert weighted["matches"] == [{"path": path}]
    assert weighted["backendRefs"] == [
        {"name": "shop", "port": 8080, "weight": 90},
        {"name": "shop-canary", "port": 8080, "weight": 10},
    ]
    # a header name the CRD refuses is refused by the same schema the renderer tests use
    broken = {**matched, "matches": [{"path": path, "headers": [{"name": "X Canary", "value": "1"}]}]}
    assert list(http_route_validator().iter_errors({**route, "spec": {**route["spec"], "rules": [broken]}}))


@pytest.mark.django_db(transaction=True)
def test_a_route_in_maintenance_sends_the_canary_nothing(world, sandbox, celery_worker):
    from apps.tenants.roles import Role
    from apps.traffic.models import Route
    from apps.traffic.switches import route_maintenance

    registered(world, sandbox)
    release, dev = _routed_release(world)
    route = Route.objects.get(application=release.application, environment=dev)
    route_maintenance(actor=world.principal(Role.DEVELOPER), route=route, enabled=True, message="Back soon")
    objects = render_canary(release, dev, 7, weight=50, progress_deadline_seconds=60, match_header=HEADER)
    assert [m["kind"] for m in objects] == ["ConfigMap", "Deployment", "Service"]  # no canary Ingress
    _gateway(world)
    objects = render_canary(release, dev, 7, weight=50, progress_deadline_seconds=60, match_header=HEADER)
    assert [m["kind"] for m in objects] == ["ConfigMap", "Deployment", "Service"]  # the HTTPRoute stays as it is


def test_the_cookie_pattern_finds_the_cookie_set_to_always_and_nothing_else():
    pattern = re.compile(cookie_pattern("beta.user"))
    assert pattern.search("beta.user=always") and pattern.search("a=1; beta.user=always; b=2")
    for header in (
        "beta.user=never",
        "beta.user=alwaysx",
        "xbeta.user=always",
        "betaXuser=always",
        "a=beta.user=always",
    ):
        assert not pattern.search(header), header


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"match_header": {"name": "X Canary", "value": "1"}}, "match_header"),
        ({"match_header": {"name": "X-Canary:", "value": "1"}}, "match_header"),
        ({"match_header": {"name": "X-Canary", "value": "a\r\nSet-Cookie: x=1"}}, "match_header"),
        ({"match_header": {"name": "X-Canary", "value": "tab\there"}}, "match_header"),
        ({"match_header": {"name": "X-Canary"}}, "match_header"),
        ({"match_cookie": "beta user"}, "match_cookie"),
        ({"match_cookie": "beta;user"}, "match_cookie"),
        ({"match_cookie": "b=1"}, "match_cookie"),
        ({"steps": [0, 100]}, "steps"),
        ({"strategy": "rolling", "match_header": HEADER}, "match_header"),
        ({"strategy": "blue_green", "match_cookie": "beta"}, "match_cookie"),
    ],
)
def test_bad_matches_are_refused_naming_the_field_and_nothing_is_made(world, api, payload, field):
    release = make_release(make_app(world.acme), ingress_host="web.acme.example")
    response = deploy(api, world.user("developer"), release, **{"strategy": "canary", **payload})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_a_release_without_a_host_has_no_requests_to_match(world, api):
    release = make_release(make_app(world.acme))
    response = deploy(api, world.user("developer"), release, strategy="canary", match_cookie="beta")
    assert response.status_code == 400 and "match_cookie" in response.json()["fields"], response.json()
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_the_deploy_form_refuses_a_bad_header_on_its_field(world, client):
    release = make_release(make_app(world.acme), ingress_host="web.acme.example")
    client.force_login(world.user("developer"))
    dev = world.acme.environments.get(name="dev")
    response = client.post(
        "/t/acme/deployments/new/",
        {
            "application": release.application_id,
            "release": release.pk,
            "environment": dev.pk,
            "strategy": "canary",
            "steps": "0, 100",
            "match_header_name": "X Canary",
            "match_header_value": "always",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "match_header_name" in errors and "HTTP token" in errors["match_header_name"][0], errors
    assert "steps" not in errors  # a step of 0 is fine where a header is matched
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_the_deploy_form_previews_the_matching_canary(world, client):
    release = make_release(make_app(world.acme), ingress_host="web.acme.example")
    client.force_login(world.user("developer"))
    dev = world.acme.environments.get(name="dev")
    response = client.post(
        "/t/acme/deployments/new/",
        {
            "application": release.application_id,
            "release": release.pk,
            "environment": dev.pk,
            "strategy": "canary",
            "steps": "0, 100",
            "match_header_name": "X-Canary",
            "match_header_value": "always",
            "match_cookie": "beta",
        },
    )
    assert response.status_code == 200, response.context["form"].errors
    preview = response.context["manifests_yaml"]
    assert "nginx.ingress.kubernetes.io/canary-by-header: X-Canary" in preview
    assert "nginx.ingress.kubernetes.io/canary-by-cookie: beta" in preview
    assert not Deployment.objects.exists()


# --- Lifecycle against the sandbox ---------------------------------------------------------------


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def _stable_then(api, world):
    app = make_app(world.acme)
    first = make_release(app, ingress_host="web.acme.example")
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    return make_release(app, image="registry.example/web:2.0", ingress_host="web.acme.example")


def _waiting(pk):
    return wait_for(lambda: Deployment.objects.filter(pk=pk, step=1, waiting=True).first(), timeout=30)


def _canary_ingress(cluster):
    return cluster.get("networking.k8s.io/v1", "Ingress", "web-canary", NAMESPACE)


def _routes_to_canary(cluster) -> list[dict]:
    """The rules of the live HTTPRoute `web` that send anything to the canary."""
    route = cluster.get(*HTTPROUTE, "web", NAMESPACE)
    return [r for r in route["spec"]["rules"] if any(b["name"] == "web-canary" for b in r["backendRefs"])]


@pytest.mark.django_db(transaction=True)
def test_a_header_and_cookie_canary_on_ingress_nginx_is_applied_shown_and_gone_after_promotion(
    world, api, client, cluster
):
    second = _stable_then(api, world)
    response = deploy(
        api,
        world.user("developer"),
        second,
        strategy="canary",
        steps=[0, 100],
        match_header=HEADER,
        match_cookie="beta",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["strategy_config"]["match_header"] == HEADER
    row = _waiting(pk)
    assert row.events.get(key="step:1:started").message == "Step 1 of 2: only the requests it matches go to the canary"

    annotations = _canary_ingress(cluster)["metadata"]["annotations"]
    assert annotations[f"{NGINX}/canary-by-header"] == "X-Canary"
    assert annotations[f"{NGINX}/canary-by-header-value"] == "always"
    assert annotations[f"{NGINX}/canary-by-cookie"] == "beta"
    assert annotations[f"{NGINX}/canary-weight"] == "0"
    shown = api.get(f"{URL}{pk}/").json()["canary_traffic"]
    assert shown == {"weight": 0, "header": HEADER, "cookie": "beta"}
    client.force_login(world.user("viewer"))
    page = client.get(f"/t/acme/deployments/{pk}/").content.decode()
    assert "requests with header X-Canary: always or cookie beta=always, and 0% of the other requests" in page
    tab = client.get("/t/acme/apps/web/traffic/").content.decode()  # the application's Traffic tab says it too
    assert "takes <strong>0%</strong> of this environment" in tab and "<code>X-Canary: always</code>" in tab
    assert "<code>beta=always</code>" in tab

    assert api.post(f"{URL}{pk}/continue/", {}, format="json").status_code == 200
    row = finished(pk)
    assert row.state == State.SUCCEEDED, row.outcome
    assert _canary_ingress(cluster) is None
    assert cluster.get("v1", "Service", "web-canary", NAMESPACE) is None
    assert api.get(f"{URL}{pk}/").json()["canary_traffic"] is None
    assert 'id="canary-rule" hidden' in client.get(f"/t/acme/deployments/{pk}/").content.decode()
    assert "canary-split" not in client.get("/t/acme/apps/web/traffic/").content.decode()
    assert_gap_free(row)


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_header_canary_on_ingress_nginx_is_gone(world, api, cluster):
    second = _stable_then(api, world)
    pk = deploy(api, world.user("developer"), second, strategy="canary", steps=[20, 100], match_header=HEADER).json()[
        "id"
    ]
    _waiting(pk)
    assert _canary_ingress(cluster)["metadata"]["annotations"][f"{NGINX}/canary-weight"] == "20"
    assert api.post(f"{URL}{pk}/cancel/", {"reason": "wrong header"}, format="json").status_code == 200
    row = finished(pk)
    assert row.state == State.CANCELLED, row.outcome
    assert _canary_ingress(cluster) is None
    assert api.get(f"{URL}{pk}/").json()["canary_traffic"] is None


@pytest.mark.django_db(transaction=True)
def test_on_the_gateway_api_the_canary_rules_are_applied_then_gone_after_promotion_and_cancel(world, api, cluster):
    _gateway(world)
    second = _stable_then(api, world)
    assert _routes_to_canary(cluster) == []  # the stable deploy applied the route's plain HTTPRoute

    pk = deploy(
        api,
        world.user("developer"),
        second,
        strategy="canary",
        steps=[10, 100],
        match_header=HEADER,
        match_cookie="beta",
    ).json()["id"]
    _waiting(pk)
    live = cluster.get(*HTTPROUTE, "web", NAMESPACE)
    spec_only = {key: value for key, value in live.items() if key != "status"}  # no controller writes status here
    assert sorted(e.message for e in http_route_validator().iter_errors(spec_only)) == []
    matched, weighted = live["spec"]["rules"]
    assert [m["headers"] for m in matched["matches"]] == [
        [{"type": "Exact", "name": "X-Canary", "value": "always"}],
        [{"type": "RegularExpression", "name": "Cookie", "value": cookie_pattern("beta")}],
    ]
    assert [b["name"] for b in matched["backendRefs"]] == ["web-canary"]
    assert [(b["name"], b["weight"]) for b in weighted["backendRefs"]] == [("web", 90), ("web-canary", 10)]
    assert cluster.get("networking.k8s.io/v1", "Ingress", "web-canary", NAMESPACE) is None
    assert api.get(f"{URL}{pk}/").json()["canary_traffic"] == {"weight": 10, "header": HEADER, "cookie": "beta"}

    assert api.post(f"{URL}{pk}/continue/", {}, format="json").status_code == 200
    row = finished(pk)
    assert row.state == State.SUCCEEDED, row.outcome
    assert _routes_to_canary(cluster) == []
    assert len(cluster.get(*HTTPROUTE, "web", NAMESPACE)["spec"]["rules"]) == 1
    assert cluster.get("v1", "Service", "web-canary", NAMESPACE) is None

    third = make_release(second.application, image="registry.example/web:3.0", ingress_host="web.acme.example")
    pk = deploy(api, world.user("developer"), third, strategy="canary", steps=[0, 100], match_cookie="beta").json()[
        "id"
    ]
    _waiting(pk)
    assert [len(rule["backendRefs"]) for rule in _routes_to_canary(cluster)] == [1, 2]
    assert api.post(f"{URL}{pk}/cancel/", {"reason": "not today"}, format="json").status_code == 200
    row = finished(pk)
    assert row.state == State.CANCELLED, row.outcome
    assert _routes_to_canary(cluster) == []
    assert cluster.get(*HTTPROUTE, "web", NAMESPACE)["spec"]["rules"][0]["backendRefs"][0]["name"] == "web"
    assert cluster.get("v1", "Service", "web-canary", NAMESPACE) is None
