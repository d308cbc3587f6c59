"""Kubernetes objects for a release in an environment: a pure, deterministic function.

The same (release, environment, deployment id) always renders the same list of plain dicts, so
applying twice changes nothing. The pod template carries the release number, not the deployment
id: redeploying the same release rolls nothing, and rolling back restores the old pod template.
Three inputs go beyond the rows: the application's add-on Secret (apps/core/addons.py), whose checksum
a bind or unbind changes so the next deployment rolls the pods onto the new variables; the formation,
the replicas a member set through the portal, which every later release runs with; and the route of
the release's ingress host (apps/core/traffic.py), rendered as the cluster's traffic controller takes
it (an Ingress for ingress-nginx, an HTTPRoute for the Gateway API).
"""

import hashlib
import json

from apps.core import imagepull
from apps.core.addons import secret_for
from apps.core.traffic import route_objects

LABEL = "paas.dev"
MANAGED_BY = "paas-portal"
# On every applied object: the deployment that last applied it.
DEPLOYMENT_ANNOTATION = f"{LABEL}/deployment"
DEFAULT_PROGRESS_DEADLINE = 600
# A rolling update runs up to this share of the replicas (rounded up) as new pods beside the old ones.
SURGE_PERCENT = 25
PROBE_TIMINGS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold")


def render(
    release,
    environment,
    deployment_id=None,
    *,
    progress_deadline_seconds=DEFAULT_PROGRESS_DEADLINE,
    strategy: str = "rolling",
) -> list[dict]:
    """Every object the release needs, in apply order: config first, then workloads, then traffic."""
    if strategy != "rolling":
        raise ValueError(f"Unknown strategy {strategy!r}")
    app = release.application
    objects = [_config_map(release, environment)]
    if app.component_kind == "cron":
        objects.append(_cron_job(release, environment))
    else:
        objects.append(_deployment(release, environment, progress_deadline_seconds))
        if release.autoscale_max:
            objects.append(_autoscaler(release, environment))
    if app.component_kind == "web" and release.ports:
        objects.append(_service(release, environment))
        if release.ingress_host:  # the release's route (apps/traffic), as the cluster's renderer makes it
            routed = route_objects(release=release, environment=environment)
            objects.extend(routed if routed is not None else [_ingress(release, environment)])
    for obj in objects:
        if deployment_id is not None:
            obj["metadata"]["annotations"][DEPLOYMENT_ANNOTATION] = str(deployment_id)
    return objects


def name_of(release) -> str:
    return release.application.name


def selector(release) -> dict:
    """Stable for the life of the application: a Deployment's selector can never change."""
    return {"app.kubernetes.io/name": release.application.name, f"{LABEL}/application": release.application.name}


def labels(release, environment) -> dict:
    return {
        **selector(release),
        "app.kubernetes.io/managed-by": MANAGED_BY,
        f"{LABEL}/tenant": environment.tenant.slug,
        f"{LABEL}/environment": environment.name,
        f"{LABEL}/release": str(release.number),
    }


def _metadata(release, environment, name: str) -> dict:
    return {
        "name": name,
        "namespace": environment.namespace,
        "labels": labels(release, environment),
        "annotations": {f"{LABEL}/release-id": str(release.pk)},
    }


def _config_map(release, environment) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(release, environment, f"{name_of(release)}-env"),
        "data": {key: str(release.env[key]) for key in sorted(release.env or {})},
    }


def _config_checksum(release) -> str:
    """In the pod template, so a changed ConfigMap rolls the pods even though its name stays."""
    return hashlib.sha256(json.dumps(release.env or {}, sort_keys=True).encode()).hexdigest()[:16]


def _container(release) -> dict:
    container = {
        "name": name_of(release),
        "image": _image(release),
        "envFrom": [{"configMapRef": {"name": f"{name_of(release)}-env"}}],
        "resources": _resources(release),
    }
    if release.secret_refs:
        container["env"] = [
            {"name": ref["name"], "valueFrom": {"secretKeyRef": {"name": ref["secret"], "key": ref["key"]}}}
            for ref in sorted(release.secret_refs, key=lambda ref: ref["name"])
        ]
    if release.command:
        container["command"] = list(release.command)
    if release.args:
        container["args"] = list(release.args)
    if release.ports:
        container["ports"] = [
            {
                "name": port.get("name") or f"port-{port['port']}",
                "containerPort": int(port["port"]),
                "protocol": port.get("protocol", "TCP"),
            }
            for port in release.ports
        ]
    first_port = int(release.ports[0]["port"]) if release.ports else None
    for field, spec in (("livenessProbe", release.liveness_probe), ("readinessProbe", release.readiness_probe)):
        if spec:
            container[field] = _probe(spec, first_port)
    return container


def _resources(release) -> dict:
    resources = {"requests": {"cpu": release.cpu_request, "memory": release.memory_request}}
    limits = {key: value for key, value in (("cpu", release.cpu_limit), ("memory", release.memory_limit)) if value}
    if limits:
        resources["limits"] = limits
    return resources


def _image(release) -> str:
    """The reference the pods run: pinned to the release's digest, which an image written with its
    digest (a build's release: repo@sha256:…) already is; a second `@digest` is not a reference."""
    if release.image_digest and "@" not in release.image:
        return f"{release.image}@{release.image_digest}"
    return release.image


def _probe(spec: dict, default_port: int | None) -> dict:
    """A probe as Kubernetes takes it, or the short form {"path": "/healthz", "port": 8080}."""
    if any(key in spec for key in ("httpGet", "tcpSocket", "exec", "grpc")):
        return dict(spec)
    port = int(spec.get("port") or default_port or 80)
    probe = {"httpGet": {"path": spec["path"], "port": port}} if spec.get("path") else {"tcpSocket": {"port": port}}
    probe.update({key: int(spec[key]) for key in PROBE_TIMINGS if key in spec})
    return probe


def _pod_template(release, environment) -> dict:
    template = {
        "metadata": {
            "labels": labels(release, environment),
            "annotations": {f"{LABEL}/config-checksum": _config_checksum(release)},
        },
        "spec": {"containers": [_container(release)]},
    }
    pull_secret = imagepull.secret_name(release.image)
    if pull_secret is not None:  # the platform registry's tenant-scoped pull credential (apps/core/imagepull.py)
        template["spec"]["imagePullSecrets"] = [{"name": pull_secret}]
    addons = secret_for(release.application, environment)
    if addons is not None:  # the add-on bindings' variables (apps/core/addons.py), after the release's own
        template["spec"]["containers"][0]["envFrom"].append({"secretRef": {"name": addons.name}})
        template["metadata"]["annotations"][f"{LABEL}/addons-checksum"] = addons.checksum
    return template


def _deployment(release, environment, progress_deadline_seconds: int) -> dict:
    spec = {
        "selector": {"matchLabels": selector(release)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": f"{SURGE_PERCENT}%", "maxUnavailable": 0}},
        "progressDeadlineSeconds": int(progress_deadline_seconds),
        "revisionHistoryLimit": 10,
        "paused": False,  # a new deploy always rolls out, even over a pause left by a cancelled one
        "template": _pod_template(release, environment),
    }
    if not release.autoscale_max:  # with an autoscaler, replicas belong to it, not to every apply
        spec = {"replicas": replicas_for(release, environment), **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(release, environment, name_of(release)),
        "spec": spec,
    }


def replicas_for(release, environment) -> int:
    """The replicas a release runs with in an environment: the formation a member set through the
    portal's scale when there is one (it survives new releases), else the release's own."""
    from .models import Formation  # the models import this module for its defaults

    if environment is None or environment.pk is None or release.application_id is None:
        return release.replicas
    kept = (
        Formation.objects.filter(application_id=release.application_id, environment_id=environment.pk)
        .values_list("replicas", flat=True)
        .first()
    )
    return release.replicas if kept is None else kept


def _autoscaler(release, environment) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(release, environment, name_of(release)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name_of(release)},
            "minReplicas": release.autoscale_min or release.replicas,
            "maxReplicas": release.autoscale_max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": release.autoscale_cpu_target or 80},
                    },
                }
            ],
        },
    }


def _service(release, environment) -> dict:
    ports = [
        {
            "name": port.get("name") or f"port-{port['port']}",
            "port": int(port["port"]),
            "targetPort": int(port["port"]),
            "protocol": port.get("protocol", "TCP"),
        }
        for port in release.ports
    ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(release, environment, name_of(release)),
        "spec": {"type": "ClusterIP", "selector": selector(release), "ports": ports},
    }


def _ingress(release, environment) -> dict:
    backend = {"service": {"name": name_of(release), "port": {"number": int(release.ports[0]["port"])}}}
    path = {"path": release.ingress_path or "/", "pathType": "Prefix", "backend": backend}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(release, environment, name_of(release)),
        "spec": {"rules": [{"host": release.ingress_host, "http": {"paths": [path]}}]},
    }


def _cron_job(release, environment) -> dict:
    template = _pod_template(release, environment)
    template["spec"]["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(release, environment, name_of(release)),
        "spec": {
            "schedule": release.schedule or "0 * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"metadata": {"labels": labels(release, environment)}, "spec": {"template": template}},
        },
    }
