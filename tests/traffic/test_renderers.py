"""Routes rendered for ingress-nginx and the Gateway API: valid against the official schemas, applied
to the sandbox cluster, and used by the deployment render for a release's ingress host."""

import json
from pathlib import Path

import jsonschema
import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register, cluster_traffic_set, environment_provision
from apps.deployments.manifests import render
from apps.deployments.strategies.manifests import render_canary
from apps.tenants.models import Environment
from apps.tenants.roles import Role
from apps.traffic import renderers
from apps.traffic.models import Route
from apps.traffic.services import route_apply, route_create, route_delete, route_remove_objects
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is a test dependency")
K8S_VERSION = "1.32.0"
HTTPROUTE_SCHEMA = Path("sandbox/schemas/gateway.networking.k8s.io_httproutes_v1.json")
GATEWAY = renderers.Target(renderers.GATEWAY_API, "gateways", "edge")


def full_route(world, shop, **fields) -> Route:
    dev = world.acme.environments.get(name="dev")
    values = {
        "host": "shop.acme-corp.com",
        "path": "/api",
        "path_type": "prefix",
        "read_timeout_seconds": 30,
        "cors_allow_origins": ["https://app.acme-corp.com"],
        **fields,
    }
    return route_create(
        actor=world.principal(Role.DEVELOPER), tenant=world.acme, environment=dev, application=shop, **values
    )


def http_route_validator():
    schema = json.loads(HTTPROUTE_SCHEMA.read_text())["openAPIV3Schema"]
    return jsonschema.Draft4Validator(schema)


@pytest.fixture
def shop(world):
    app = make_app(world.acme, name="shop")
    make_release(app)
    return app


def test_the_ingress_nginx_render_is_schema_valid_and_carries_the_annotations(world, shop):
    route = full_route(
        world,
        shop,
        connect_timeout_seconds=5,
        max_body_size_mb=16,
        rate_limit_rps=20,
        rate_limit_burst=50,
        rate_limit_connections=10,
        tls="issue",
        cert_issuer="letsencrypt",
    )
    [ingress] = renderers.render(route, renderers.Target())
    kubernetes_validate.validate(ingress, K8S_VERSION, strict=True)
    annotations = ingress["metadata"]["annotations"]
    nginx = "nginx.ingress.kubernetes.io"
    assert {
        key: annotations[f"{nginx}/{key}"] for key in ("limit-rps", "limit-burst-multiplier", "limit-connections")
    } == {
        "limit-rps": "20",
        "limit-burst-multiplier": "3",
        "limit-connections": "10",
    }
    assert annotations[f"{nginx}/proxy-body-size"] == "16m" and annotations[f"{nginx}/proxy-read-timeout"] == "30"
    assert annotations[f"{nginx}/cors-allow-origin"] == "https://app.acme-corp.com"
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.acme-corp.com"], "secretName": "shop-tls"}]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "shop.acme-corp.com" and rule["http"]["paths"][0]["path"] == "/api"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "shop", "port": {"number": 8080}}


def test_the_gateway_api_render_is_valid_against_the_httproute_crd(world, shop):
    route = full_route(world, shop, path_type="exact")
    [http_route] = renderers.render(route, GATEWAY)
    errors = sorted(error.message for error in http_route_validator().iter_errors(http_route))
    assert errors == []
    assert http_route["spec"]["parentRefs"] == [{"name": "edge", "namespace": "gateways"}]
    rule = http_route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "Exact", "value": "/api"}}]
    assert rule["timeouts"] == {"request": "30s"}
    assert rule["filters"] == [{"type": "CORS", "cors": {"allowOrigins": ["https://app.acme-corp.com"]}}]
    # the same schema refuses what a real API server would refuse
    broken = {**http_route, "spec": {**http_route["spec"], "hostnames": ["Not_A_Host"]}}
    assert list(http_route_validator().iter_errors(broken))


@pytest.fixture
def cluster(world, sandbox):
    cluster = cluster_register(
        operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url
    )
    for environment in Environment.objects.filter(tenant=world.acme, name="dev"):
        environment_provision(environment=environment)
    return cluster


def test_routes_are_applied_to_the_sandbox_with_either_renderer(world, shop, cluster, sandbox):
    kube = KubeClient(sandbox.api_client())
    route = full_route(world, shop)
    namespace = route.environment.namespace
    assert route_apply(route_id=route.pk).state == Route.State.APPLIED
    ingress = kube.get("networking.k8s.io/v1", "Ingress", "shop", namespace)
    assert ingress["spec"]["rules"][0]["host"] == "shop.acme-corp.com"
    assert ingress["metadata"]["annotations"][renderers.ROUTE_ANNOTATION] == str(route.pk)

    cluster_traffic_set(
        operator=world.operator_principal,
        cluster=cluster,
        traffic_renderer="gateway_api",
        gateway_namespace="gateways",
        gateway_name="edge",
    )
    assert route_apply(route_id=route.pk).state == Route.State.APPLIED
    http_route = kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", "shop", namespace)
    assert http_route["spec"]["hostnames"] == ["shop.acme-corp.com"]
    assert http_route["spec"]["rules"][0]["backendRefs"][0]["weight"] == 1  # defaulted by the CRD schema
    assert kube.get("networking.k8s.io/v1", "Ingress", "shop", namespace) is None  # the other kind went

    route_id = route.pk
    route_delete(actor=world.principal(Role.DEVELOPER), route=route)
    route_remove_objects(environment_id=route.environment_id, name="shop", route_id=route_id)
    assert kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", "shop", namespace) is None


def test_a_cluster_refusal_is_kept_on_the_route(world, shop, cluster, sandbox):
    Cluster.objects.filter(pk=cluster.pk).update(
        traffic_renderer="gateway_api", gateway_namespace="Not_A_Namespace", gateway_name="edge"
    )
    route = full_route(world, shop)
    failed = route_apply(route_id=route.pk)
    assert (
        failed.state == Route.State.FAILED and "is invalid" in failed.last_error and "parentRefs" in failed.last_error
    )


def test_a_gateway_cluster_refuses_what_an_httproute_cannot_say(world, shop, cluster):
    from apps.core.errors import ApplicationError

    cluster_traffic_set(
        operator=world.operator_principal,
        cluster=cluster,
        traffic_renderer="gateway_api",
        gateway_namespace="gateways",
        gateway_name="edge",
    )
    with pytest.raises(ApplicationError) as refused:
        full_route(world, shop, rate_limit_rps=10, tls="secret", tls_secret="cert")
    assert {"rate_limit_rps", "tls"} <= set(refused.value.errors)
    assert not Route.objects.exists()


def test_a_release_host_becomes_a_route_the_deployment_render_uses(world, sandbox, cluster):
    from apps.core.traffic import route_for_release

    app = make_app(world.acme, name="web")
    release = make_release(app, ingress_host="web.acme-corp.com", ingress_path="/")
    dev = world.acme.environments.get(name="dev")
    route = route_for_release(release=release, environment=dev, actor=world.principal(Role.DEVELOPER))
    assert (route.host, route.path, route.name, route.from_release) == ("web.acme-corp.com", "/", "web", True)

    manifests = render(release, dev, 7)
    [ingress] = [m for m in manifests if m["kind"] == "Ingress"]
    assert ingress["metadata"]["annotations"][renderers.ROUTE_ANNOTATION] == str(route.pk)
    kubernetes_validate.validate(ingress, K8S_VERSION, strict=True)

    # the canary's weighted second Ingress still matches the route's host and path
    canary = [
        m for m in render_canary(release, dev, 8, weight=20, progress_deadline_seconds=60) if m["kind"] == "Ingress"
    ]
    assert canary[0]["metadata"]["name"] == "web-canary"
    assert canary[0]["spec"]["rules"][0]["host"] == "web.acme-corp.com"
    assert canary[0]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "20"
    KubeClient(sandbox.api_client()).apply(manifests)  # the sandbox takes the whole release with its route

    # a new release with another host moves the application's route, it does not add one
    moved = make_release(app, ingress_host="www.acme-corp.com", ingress_path="/shop")
    route_for_release(release=moved, environment=dev, actor=world.principal(Role.DEVELOPER))
    assert list(Route.objects.values_list("host", "path")) == [("www.acme-corp.com", "/shop")]

    # promoting the same release to another environment routes the same host there too
    staging = world.acme.environments.get(name="staging")
    route_for_release(release=moved, environment=staging, actor=world.principal(Role.DEVELOPER))
    assert Route.objects.filter(host="www.acme-corp.com").count() == 2
