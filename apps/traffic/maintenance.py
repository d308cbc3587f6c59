"""The maintenance server of a namespace: what answers for routes switched to maintenance or degraded.

One small static web server per environment namespace, run only while a route there needs it: a
ConfigMap holding the server's configuration and one page per route, a Deployment of an unprivileged
nginx image (`MAINTENANCE_IMAGE`) that mounts it, and a Service the routes' Ingress or HTTPRoute
points at. The server picks the page by the request's host and the route's path, as the route matched:

- a route in **maintenance** answers 503 with its page, `Retry-After` when the route gives one, and
  `Cache-Control: no-store`, so caches and clients treat it as a temporary outage;
- a **degraded** route answers 200 with its fallback page and `Cache-Control: no-store`: the path is one
  a client can do without (recommendations, a widget), and a 200 lets the page that embeds it render.

Messages are HTML-escaped into the pages; the configuration names only hosts and paths the route
checks already allow. Rendering is pure and deterministic: the same routes give the same objects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.utils.html import escape

LABEL = "paas.dev"
SERVER_NAME = "paas-maintenance"
SERVER_PORT = 80
CONTAINER_PORT = 8080  # the unprivileged image listens above 1024
COMPONENT_LABEL = f"{LABEL}/component"
COMPONENT = "maintenance"
CONFIG_KEY = "default.conf"
MOUNT = "/etc/nginx/conf.d"  # the image's nginx.conf includes *.conf from here; the pages sit beside it
MAINTENANCE_STATUS = 503
DEGRADED_STATUS = 200
DEFAULT_MAINTENANCE_MESSAGE = "This service is down for maintenance. Please try again shortly."
DEFAULT_DEGRADED_MESSAGE = "This part of the service is temporarily unavailable."
# (api_version, kind) of every object the server is made of, in apply order.
KINDS = (("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service"))


@dataclass(frozen=True)
class Page:
    """One route's answer: where it matches, with what status, text and Retry-After."""

    route_id: int
    host: str
    path: str
    exact: bool
    status: int
    message: str
    retry_after_seconds: int | None = None

    @property
    def key(self) -> str:
        return f"route-{self.route_id}.html"

    @classmethod
    def of(cls, route) -> Page:
        """The page a route in maintenance or degraded serves; maintenance wins when both are on."""
        if route.maintenance:
            status, message = MAINTENANCE_STATUS, route.maintenance_message or DEFAULT_MAINTENANCE_MESSAGE
            retry_after = route.maintenance_retry_after_seconds
        else:
            status, message, retry_after = DEGRADED_STATUS, route.degraded_message or DEFAULT_DEGRADED_MESSAGE, None
        exact = route.path_type == "exact"
        return cls(route.pk, route.host, route.path, exact, status, message, retry_after)


def html(page: Page) -> str:
    title = "Down for maintenance" if page.status == MAINTENANCE_STATUS else "Temporarily limited"
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n"
        f"<p>{escape(page.message)}</p>\n</main>\n</body>\n</html>\n"
    )


def _quoted(text: str) -> str:
    # nginx's quoted strings end at an unescaped quote; route paths and hosts hold neither " nor \.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _location(page: Page) -> list[str]:
    match = f"= {_quoted(page.path)}" if page.exact else f"^~ {_quoted(page.path)}"
    headers = ['        add_header Cache-Control "no-store" always;']
    if page.retry_after_seconds:
        headers.append(f"        add_header Retry-After {int(page.retry_after_seconds)} always;")
    if page.status == MAINTENANCE_STATUS:
        named = f"@route-{page.route_id}"
        return [
            f"    location {match} {{",
            f"        error_page 503 {named};",
            "        return 503;",
            "    }",
            f"    location {named} {{",
            f"        root {MOUNT};",
            *headers,
            f"        rewrite ^ /{page.key} break;",
            "    }",
        ]
    return [
        f"    location {match} {{",
        f"        root {MOUNT};",
        *headers,
        f"        try_files /{page.key} =404;",
        "    }",
    ]


def server_config(pages: list[Page]) -> str:
    """The nginx configuration: a server per host, a location per route; anything else is a 404."""
    lines = [
        "# Written by the portal; every change rolls the maintenance server's pods.",
        "server_names_hash_bucket_size 256;",
        "server {",
        f"    listen {CONTAINER_PORT} default_server;",
        "    server_name _;",
        '    location = /healthz { access_log off; default_type text/plain; return 200 "ok\\n"; }',
        "    location / { return 404; }",
        "}",
    ]
    hosts = sorted({page.host for page in pages})
    for host in hosts:
        lines += ["server {", f"    listen {CONTAINER_PORT};", f"    server_name {host};"]
        served = sorted((p for p in pages if p.host == host), key=lambda p: (p.path, p.exact, p.route_id))
        for page in served:
            lines += _location(page)
        if not any(page.path == "/" and not page.exact for page in served):
            lines.append("    location / { return 404; }")  # never the image's own welcome page
        lines.append("}")
    return "\n".join(lines) + "\n"


def _labels(environment) -> dict:
    return {
        "app.kubernetes.io/name": SERVER_NAME,
        "app.kubernetes.io/managed-by": "paas-portal",
        COMPONENT_LABEL: COMPONENT,
        f"{LABEL}/tenant": environment.tenant.slug,
        f"{LABEL}/environment": environment.name,
    }


def _selector() -> dict:
    return {"app.kubernetes.io/name": SERVER_NAME, COMPONENT_LABEL: COMPONENT}


def _metadata(environment) -> dict:
    return {"name": SERVER_NAME, "namespace": environment.namespace, "labels": _labels(environment)}


def render(environment, routes, *, image: str) -> list[dict]:
    """ConfigMap, Deployment and Service of the environment's maintenance server for these routes."""
    pages = [Page.of(route) for route in routes]
    data = {CONFIG_KEY: server_config(pages), **{page.key: html(page) for page in pages}}
    checksum = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    container = {
        "name": "nginx",
        "image": image,
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": CONTAINER_PORT}, "periodSeconds": 5},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "pages", "mountPath": MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    template = {
        "metadata": {"labels": _labels(environment), "annotations": {f"{LABEL}/config-checksum": checksum}},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": "pages", "configMap": {"name": SERVER_NAME}}, {"name": "tmp", "emptyDir": {}}],
        },
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(environment), "data": data},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _metadata(environment),
            "spec": {"replicas": 1, "selector": {"matchLabels": _selector()}, "template": template},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _metadata(environment),
            "spec": {
                "type": "ClusterIP",
                "selector": _selector(),
                "ports": [{"name": "http", "port": SERVER_PORT, "targetPort": "http", "protocol": "TCP"}],
            },
        },
    ]


def is_ours(obj: dict | None) -> bool:
    """Whether an object read from the cluster is a maintenance server the portal made."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(COMPONENT_LABEL) == COMPONENT and labels.get("app.kubernetes.io/managed-by") == "paas-portal"
