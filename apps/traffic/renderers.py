"""What a route becomes on a cluster: pure, deterministic functions of the route and the cluster.

Two renderers, chosen per cluster (`Cluster.traffic_renderer`):

- `ingress_nginx`: a networking.k8s.io/v1 Ingress with ingress-nginx's annotations (timeouts, body
  size, CORS, per-client rate limits) and cert-manager's for an issued certificate. The existing
  canary's weighted second Ingress matches it by host and path.
- `gateway_api`: a gateway.networking.k8s.io/v1 HTTPRoute attached to the Gateway the cluster names.
  The HTTPRoute has no field for a connect timeout, a body size or rate limits, and certificates live
  on the Gateway's listeners, so a route asking for those is refused on such a cluster
  (`unsupported_fields`) rather than rendered without them. The standard channel's HTTPRoute (v1.6.1)
  has no external-auth filter either, so a route needing a consumer key (`auth=api_key`) is refused
  there too, and never rendered without its check.

A route with `auth=api_key` on ingress-nginx asks the portal's gateway check before every request
(`auth-url`, apps/traffic/gateway.py) and passes the consumer's X-Consumer-* headers on.

Every object carries the portal's labels (tenant, environment, application) and the route's id, so
the deployment's removal and the CMDB's discovery find it like the application's other objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.core.errors import ApplicationError

LABEL = "paas.dev"
MANAGED_BY = "paas-portal"
ROUTE_ANNOTATION = f"{LABEL}/route"
INGRESS_NGINX = "ingress_nginx"
GATEWAY_API = "gateway_api"
NGINX = "nginx.ingress.kubernetes.io"
CERT_MANAGER_ISSUER = "cert-manager.io/cluster-issuer"
KINDS = {INGRESS_NGINX: ("networking.k8s.io/v1", "Ingress"), GATEWAY_API: ("gateway.networking.k8s.io/v1", "HTTPRoute")}


@dataclass(frozen=True)
class Target:
    """Where and how a route is rendered: the cluster's renderer and, for the Gateway API, its Gateway."""

    renderer: str = INGRESS_NGINX
    gateway_namespace: str = ""
    gateway_name: str = ""

    @classmethod
    def of(cls, cluster) -> Target:
        if cluster is None:
            return cls()
        return cls(cluster.traffic_renderer, cluster.gateway_namespace, cluster.gateway_name)


def unsupported_fields(route, target: Target) -> dict[str, str]:
    """field -> why, for what the target's renderer cannot express."""
    if target.renderer != GATEWAY_API:
        return {}
    why = "the cluster routes through the Gateway API, whose HTTPRoute has no such setting"
    found = {
        "connect_timeout_seconds": why,
        "max_body_size_mb": why,
        "rate_limit_rps": why,
        "rate_limit_burst": why,
        "rate_limit_connections": why,
    }
    problems = {field: message for field, message in found.items() if getattr(route, field)}
    if route.tls != "none":
        problems["tls"] = "on a Gateway API cluster certificates belong to the Gateway's listeners, not to a route"
    if route.auth == "api_key":
        problems["auth"] = "the Gateway API's standard HTTPRoute has no external-auth filter to check consumer keys"
    return problems


def render(route, target: Target) -> list[dict]:
    """The route's objects for the target renderer, in apply order."""
    if target.renderer == GATEWAY_API:
        if route.auth == "api_key":  # a cluster switched under the route: fail closed, never open
            raise ApplicationError(f"Not available here: {unsupported_fields(route, target)['auth']}.", field="auth")
        return [_http_route(route, target)]
    return [_ingress(route)]


def backend_of(obj: dict) -> tuple[str, int]:
    """The Service and port a rendered (or live) Ingress or HTTPRoute sends its traffic to."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "HTTPRoute":
        ref = (spec.get("rules") or [{}])[0].get("backendRefs", [{}])[0]
        return ref.get("name", ""), ref.get("port", 0)
    paths = (spec.get("rules") or [{}])[0].get("http", {}).get("paths") or [{}]
    service = paths[0].get("backend", {}).get("service", {})
    return service.get("name", ""), service.get("port", {}).get("number", 0)


def kind_of(target: Target) -> tuple[str, str]:
    return KINDS[target.renderer]


def labels(route) -> dict:
    application = route.application.name
    return {
        "app.kubernetes.io/name": application,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        f"{LABEL}/application": application,
        f"{LABEL}/tenant": route.tenant.slug,
        f"{LABEL}/environment": route.environment.name,
    }


def _metadata(route, annotations: dict) -> dict:
    return {
        "name": route.name,
        "namespace": route.environment.namespace,
        "labels": labels(route),
        "annotations": {ROUTE_ANNOTATION: str(route.pk), **annotations},
    }


def _nginx_annotations(route) -> dict:
    found: dict[str, str] = {}
    if route.connect_timeout_seconds:
        found[f"{NGINX}/proxy-connect-timeout"] = str(route.connect_timeout_seconds)
    if route.read_timeout_seconds:
        found[f"{NGINX}/proxy-read-timeout"] = str(route.read_timeout_seconds)
        found[f"{NGINX}/proxy-send-timeout"] = str(route.read_timeout_seconds)
    if route.max_body_size_mb:
        found[f"{NGINX}/proxy-body-size"] = f"{route.max_body_size_mb}m"
    if route.cors_allow_origins:
        found[f"{NGINX}/enable-cors"] = "true"
        found[f"{NGINX}/cors-allow-origin"] = ", ".join(route.cors_allow_origins)
    if route.rate_limit_rps:
        found[f"{NGINX}/limit-rps"] = str(route.rate_limit_rps)
        if route.rate_limit_burst:  # ingress-nginx takes the burst as a multiple of the rate
            found[f"{NGINX}/limit-burst-multiplier"] = str(-(-route.rate_limit_burst // route.rate_limit_rps))
    if route.rate_limit_connections:
        found[f"{NGINX}/limit-connections"] = str(route.rate_limit_connections)
    if route.tls == "issue":
        found[CERT_MANAGER_ISSUER] = route.cert_issuer
    if route.auth == "api_key":
        found[f"{NGINX}/auth-url"] = f"{settings.GATEWAY_VERIFY_URL}?route={route.pk}"
        found[f"{NGINX}/auth-response-headers"] = "X-Consumer-Id,X-Consumer-Name,X-Consumer-Plan"
    return found


def tls_secret_name(route) -> str:
    """The Secret holding the route's certificate: the tenant's own, or the one cert-manager issues."""
    return route.tls_secret if route.tls == "secret" else f"{route.name}-tls"


def _ingress(route) -> dict:
    backend = {"service": {"name": route.backend_service, "port": {"number": route.backend_port}}}
    path = {"path": route.path, "pathType": "Exact" if route.path_type == "exact" else "Prefix", "backend": backend}
    spec: dict = {"rules": [{"host": route.host, "http": {"paths": [path]}}]}
    if route.tls != "none":
        spec["tls"] = [{"hosts": [route.host], "secretName": tls_secret_name(route)}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(route, _nginx_annotations(route)),
        "spec": spec,
    }


def _http_route(route, target: Target) -> dict:
    match = {"path": {"type": "Exact" if route.path_type == "exact" else "PathPrefix", "value": route.path}}
    rule: dict = {"matches": [match], "backendRefs": [{"name": route.backend_service, "port": route.backend_port}]}
    if route.read_timeout_seconds:
        rule["timeouts"] = {"request": f"{route.read_timeout_seconds}s"}
    if route.cors_allow_origins:
        rule["filters"] = [{"type": "CORS", "cors": {"allowOrigins": list(route.cors_allow_origins)}}]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _metadata(route, {}),
        "spec": {
            "parentRefs": [{"name": target.gateway_name, "namespace": target.gateway_namespace}],
            "hostnames": [route.host],
            "rules": [rule],
        },
    }
