"""In-cluster add-ons: a service template rendered into the environment's namespace, one per instance.

For what operators choose to run per tenant (a plan that needs hard memory isolation, which a shared
Redis cannot give). The server of such an offering names the template (`incluster://redis` or
`incluster://postgres`); each instance becomes, in its environment's namespace, a Secret with a
generated password, a headless Service and a one-replica StatefulSet named `addon-<uid>`, labelled as
the portal's and sized by the plan (`memory`, `cpu`, `storage` in MiB for its volume claim, `image`
to pin another image). Provisioning applies them (server-side apply, so a re-run changes nothing and
keeps the password) and is asynchronous: the instance is ready when the StatefulSet reports its pod
Ready, read from the cluster on every poll; until then the poll says what the pod waits for.

The service is the tenant's alone, so a binding is its connection URL (the one password), written to
the application's Secret; unbinding takes it out of that Secret but cannot revoke it at the service,
and rotation is refused (a new password would drop every binding at once). Deprovisioning deletes the
three objects, and the StatefulSet takes its volume claims with it (`whenDeleted: Delete`).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from apps.clusters.kube import KubeError
from apps.clusters.services import kube_of

from .base import SUCCEEDED, Operation, ProviderError, short_uid

LABEL = "paas.dev"


@dataclass(frozen=True)
class Template:
    title: str
    image: str
    port: int
    password_env: str
    extra_env: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    url: str  # format: {password}, {host}, {port}
    data_path: str


TEMPLATES = {
    "redis": Template(
        title="Redis 7",
        image="redis:7-alpine",
        port=6379,
        password_env="REDIS_PASSWORD",
        extra_env=(),
        args=("redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--dir", "/data"),
        url="redis://:{password}@{host}:{port}/0",
        data_path="/data",
    ),
    "postgres": Template(
        title="PostgreSQL 16",
        image="postgres:16-alpine",
        port=5432,
        password_env="POSTGRES_PASSWORD",
        extra_env=(("POSTGRES_USER", "app"), ("POSTGRES_DB", "app"), ("PGDATA", "/var/lib/postgresql/data/pgdata")),
        args=(),
        url="postgresql://app:{password}@{host}:{port}/app",
        data_path="/var/lib/postgresql/data",
    ),
}


def template_name(admin_url: str) -> str:
    return urlsplit(admin_url).hostname or ""


def object_name(instance) -> str:
    return f"addon-{short_uid(instance)}"


class InClusterProvider:
    """One template, rendered per instance into the instance's environment's namespace."""

    def __init__(self, admin_url: str):
        self.template_name = template_name(admin_url)
        template = TEMPLATES.get(self.template_name)
        if urlsplit(admin_url).scheme != "incluster" or template is None:
            raise ProviderError(f"Name a template as incluster://<template>, one of {', '.join(sorted(TEMPLATES))}.")
        self.template = template

    def check(self) -> str:
        return f"In-cluster {self.template.title} (a StatefulSet per instance)"

    # --- rendering ----------------------------------------------------------------------------

    def manifests(self, instance, password: str) -> list[dict]:
        name, namespace, template = object_name(instance), instance.environment.namespace, self.template
        limits = instance.plan.limits or {}
        labels = {
            "app.kubernetes.io/managed-by": "paas-portal",
            "app.kubernetes.io/name": name,
            f"{LABEL}/addon": short_uid(instance),
            f"{LABEL}/tenant": instance.tenant.slug,
            f"{LABEL}/environment": instance.environment.name,
        }
        metadata = {"name": name, "namespace": namespace, "labels": labels}
        resources: dict = {}
        if limits.get("memory"):
            resources = {"requests": {"memory": str(limits["memory"])}, "limits": {"memory": str(limits["memory"])}}
        if limits.get("cpu"):
            resources.setdefault("requests", {})["cpu"] = str(limits["cpu"])
        container: dict = {
            "name": self.template_name,
            "image": str(limits.get("image") or template.image),
            "ports": [{"name": "service", "containerPort": template.port}],
            "env": [
                {"name": template.password_env, "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}}},
                *({"name": key, "value": value} for key, value in template.extra_env),
            ],
        }
        if template.args:
            container["args"] = list(template.args)
        if resources:
            container["resources"] = resources
        spec: dict = {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": {f"{LABEL}/addon": short_uid(instance)}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        }
        if limits.get("storage"):
            container["volumeMounts"] = [{"name": "data", "mountPath": template.data_path}]
            spec["volumeClaimTemplates"] = [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{int(limits['storage'])}Mi"}},
                    },
                }
            ]
        return [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": metadata,
                "data": {"password": base64.b64encode(password.encode()).decode()},
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": metadata,
                "spec": {
                    "clusterIP": "None",
                    "selector": {f"{LABEL}/addon": short_uid(instance)},
                    "ports": [{"name": "service", "port": template.port, "targetPort": template.port}],
                },
            },
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata, "spec": spec},
        ]

    # --- the protocol -------------------------------------------------------------------------

    def _password(self, kube, instance) -> str | None:
        secret = kube.get("v1", "Secret", object_name(instance), instance.environment.namespace)
        if secret is None or not (secret.get("data") or {}).get("password"):
            return None
        return base64.b64decode(secret["data"]["password"]).decode()

    def provision(self, instance) -> str:
        try:
            with kube_of(instance.environment) as kube:
                password = self._password(kube, instance) or secrets.token_urlsafe(24)  # a re-run keeps it
                kube.apply(self.manifests(instance, password))
        except KubeError as exc:
            raise ProviderError(f"The cluster refused the add-on's objects: {exc}") from None
        return object_name(instance)

    def last_operation(self, instance) -> Operation:
        name, namespace = object_name(instance), instance.environment.namespace
        try:
            with kube_of(instance.environment) as kube:
                found = kube.get("apps/v1", "StatefulSet", name, namespace)
                pod = kube.get("v1", "Pod", f"{name}-0", namespace) if found is not None else None
        except KubeError as exc:
            return Operation("in progress", f"the cluster does not answer ({exc})")
        if found is None:
            return (
                Operation("succeeded", "Gone")
                if instance.state == "deprovisioning"
                else Operation("failed", f"The StatefulSet {name} is gone from {namespace}.")
            )
        status = found.get("status") or {}
        generation = (found.get("metadata") or {}).get("generation", 1)
        if status.get("observedGeneration", 0) >= generation and status.get("readyReplicas", 0) >= 1:
            return SUCCEEDED
        return Operation("in progress", _waiting_for(pod))

    def deprovision(self, instance) -> Operation:
        name, namespace = object_name(instance), instance.environment.namespace
        try:
            with kube_of(instance.environment) as kube:
                for api_version, kind in (("apps/v1", "StatefulSet"), ("v1", "Service"), ("v1", "Secret")):
                    kube.delete(api_version, kind, name, namespace)  # False when gone already
        except KubeError as exc:
            raise ProviderError(f"The cluster did not remove the add-on's objects: {exc}") from None
        return SUCCEEDED

    def credential_name(self, binding) -> str:
        return f"{object_name(binding.instance)}-b{binding.pk}"

    def bind(self, binding) -> dict[str, str]:
        instance = binding.instance
        try:
            with kube_of(instance.environment) as kube:
                password = self._password(kube, instance)
        except KubeError as exc:
            raise ProviderError(f"The cluster does not answer: {exc}") from None
        if password is None:
            raise ProviderError(f"The add-on's Secret {object_name(instance)} is missing from the cluster.")
        host = f"{object_name(instance)}.{instance.environment.namespace}.svc"
        return {"url": self.template.url.format(password=password, host=host, port=self.template.port)}

    def unbind(self, binding) -> Operation:
        return SUCCEEDED  # the service's one password stays; the application's Secret loses it

    def binding_last_operation(self, binding) -> Operation:
        return Operation("failed", "The binding was interrupted before it finished.")

    def binding_details(self, binding) -> dict[str, str]:
        raise ProviderError("In-cluster add-ons bind at once; there is nothing to fetch.")


def _waiting_for(pod: dict | None) -> str:
    """What the instance's pod waits for, in the kubelet's words."""
    if pod is None:
        return "waiting for its pod to be made"
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or ():
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"pod {pod['metadata']['name']}: {waiting.get('reason', 'waiting')}"
    return f"pod {pod['metadata']['name']}: {status.get('phase', 'Pending')}, not ready yet"
