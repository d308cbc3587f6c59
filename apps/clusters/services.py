"""Registering clusters, checking them, and provisioning environments' namespaces on them."""

from __future__ import annotations

import socket
import ssl

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import INVALID, ApplicationError, require
from apps.tenants.claims import reserved_namespace_pattern
from apps.tenants.models import Environment, Quota
from apps.tenants.principals import Principal

from .connection import api_client_for, kube_for, kubeconfig_contexts
from .kube import KubeClient, KubeError
from .models import TRAFFIC_RENDERERS, Cluster, Placement
from .namespaces import is_environments_namespace, namespace_manifests

NO_CLUSTER = "no_cluster"
NAMESPACE_NOT_OURS = "namespace_not_ours"
SANDBOX_NOT_ALLOWED = (
    "Sandbox clusters are a development and test tool; this portal does not register them "
    "(SANDBOX_CLUSTERS_ALLOWED is off)."
)


def cluster_auth_methods() -> list[str]:
    """The authentication methods a new cluster may use here: the sandbox only where settings allow it."""
    return [
        method for method in Cluster.Auth.values if method != Cluster.Auth.SANDBOX or settings.SANDBOX_CLUSTERS_ALLOWED
    ]


def _clean_credentials(auth_method: str, api_url: str, credentials: dict) -> dict:
    """Keep only what the auth method uses, and refuse what cannot work before anything is stored."""
    if auth_method == Cluster.Auth.KUBECONFIG:
        text = credentials.get("kubeconfig", "")
        try:
            contexts = kubeconfig_contexts(text)
        except KubeError as exc:
            raise ApplicationError(exc.message, code=INVALID, field="kubeconfig") from None
        context = credentials.get("context", "")
        if len(contexts) > 1 and context not in contexts:
            raise ApplicationError(
                f"The kubeconfig has several contexts; choose one of: {', '.join(contexts)}.",
                code=INVALID,
                field="context",
            )
        return {"kubeconfig": text, "context": context or contexts[0]}
    if auth_method in (Cluster.Auth.TOKEN, Cluster.Auth.SANDBOX) and not api_url:
        raise ApplicationError("This kind of cluster needs its API URL.", code=INVALID, field="api_url")
    if auth_method == Cluster.Auth.TOKEN:
        if not credentials.get("token"):
            raise ApplicationError("A bearer token is required.", code=INVALID, field="token")
        return {"token": credentials["token"], "ca_bundle": credentials.get("ca_bundle", "")}
    return {}


def _traffic_settings(renderer: str, gateway_namespace: str, gateway_name: str) -> dict:
    """How routes are rendered on a cluster: ingress-nginx, or HTTPRoutes attached to one named Gateway."""
    renderers = [value for value, _ in TRAFFIC_RENDERERS]
    if renderer not in renderers:
        raise ApplicationError(f"The traffic renderer is one of {', '.join(renderers)}.", field="traffic_renderer")
    if renderer == "gateway_api" and not (gateway_namespace and gateway_name):
        raise ApplicationError(
            "The Gateway API renderer needs the namespace and name of the Gateway routes attach to.",
            field="gateway_name",
        )
    return {"traffic_renderer": renderer, "gateway_namespace": gateway_namespace, "gateway_name": gateway_name}


@transaction.atomic
def cluster_traffic_set(
    *, operator: Principal, cluster: Cluster, traffic_renderer: str, gateway_namespace: str = "", gateway_name: str = ""
) -> Cluster:
    """Choose what routes become on a cluster. Existing routes are re-rendered by their next change."""
    require(operator.is_operator, "Only platform operators configure clusters.")
    wanted = _traffic_settings(traffic_renderer, gateway_namespace, gateway_name)
    before = {name: getattr(cluster, name) for name in wanted}
    for name, value in wanted.items():
        setattr(cluster, name, value)
    cluster.save(update_fields=list(wanted))
    audit_record(
        actor=operator,
        action="cluster.traffic",
        obj=cluster,
        changes={name: [before[name], value] for name, value in wanted.items() if before[name] != value},
    )
    return cluster


@transaction.atomic
def cluster_register(
    *,
    operator: Principal,
    name: str,
    auth_method: str,
    api_url: str = "",
    credentials: dict | None = None,
    description: str = "",
    ingress_namespace: str = "ingress-nginx",
    is_default: bool = False,
    traffic_renderer: str = "ingress_nginx",
    gateway_namespace: str = "",
    gateway_name: str = "",
) -> Cluster:
    """Register a cluster; credentials are encrypted and never returned."""
    require(operator.is_operator, "Only platform operators register clusters.")
    if auth_method not in Cluster.Auth.values:
        raise ApplicationError(f"Unknown authentication method “{auth_method}”.", code=INVALID, field="auth_method")
    if auth_method not in cluster_auth_methods():
        raise ApplicationError(SANDBOX_NOT_ALLOWED, code=INVALID, field="auth_method")
    if Cluster.objects.filter(name=name).exists():
        raise ApplicationError(f"There is already a cluster called “{name}”.", code="name_taken", field="name")
    cluster = Cluster(
        name=name,
        auth_method=auth_method,
        api_url=api_url.rstrip("/"),
        description=description,
        ingress_namespace=ingress_namespace,
        **_traffic_settings(traffic_renderer, gateway_namespace, gateway_name),
    )
    cluster.credentials = _clean_credentials(auth_method, cluster.api_url, credentials or {})
    if is_default or not Cluster.objects.filter(is_default=True).exists():
        Cluster.objects.filter(is_default=True).update(is_default=False)
        cluster.is_default = True
    cluster.save()
    audit_record(
        actor=operator,
        action="cluster.register",
        obj=cluster,
        changes={"auth_method": [None, auth_method], "api_url": [None, cluster.api_url]},
    )
    if cluster.is_default:
        _provision_waiting_environments()
    return cluster


def _provision_waiting_environments() -> None:
    """Environments created while no cluster existed are provisioned once one is registered."""
    from .tasks import provision_environment

    for environment_id in Environment.objects.filter(placement__isnull=True).values_list("id", flat=True):
        transaction.on_commit(lambda pk=environment_id: provision_environment.delay(pk))


def explain_failure(exc: BaseException) -> str:
    """Say in words why a cluster could not be reached or used: checks and deployments report it alike."""
    status = getattr(exc, "status", None)
    if status == 401:
        return "401 Unauthorized: the credentials were rejected."
    if status == 403:
        return "403 Forbidden: the credentials are valid but not allowed to do this."
    cause, seen = exc, 0
    while isinstance(cause, BaseException) and seen < 10:
        text = f"{type(cause).__name__}: {cause}"
        if isinstance(cause, socket.gaierror) or "NameResolution" in text or "Name or service not known" in text:
            return "DNS: the API server's host name does not resolve."
        if isinstance(cause, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return f"TLS: the API server's certificate was not accepted ({cause})."
        if isinstance(cause, (urllib3.exceptions.TimeoutError, socket.timeout, TimeoutError)):
            return "Timeout: the API server did not answer in time."
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
            return "Connection refused: nothing listens at the API URL."
        cause, seen = cause.__cause__ or cause.__context__ or getattr(cause, "reason", None), seen + 1
    return str(getattr(exc, "message", None) or exc)


def cluster_check(*, cluster: Cluster, timeout=(3, 5)) -> dict:
    """Connect and report server version, API groups, and whether the portal may create namespaces and
    apply workloads. Never raises: the result says what failed. Stored on the cluster row."""
    result = {"ok": False, "checked_at": timezone.now().isoformat()}
    try:
        kube = KubeClient(api_client_for(cluster), attempts=1, timeout=timeout)
        try:
            version = kube.version()
            result["server_version"] = version.get("git_version")
            result["api_groups"] = kube.api_groups()
            result["can_create_namespaces"] = kube.can("create", "", "namespaces")
            result["can_apply_workloads"] = kube.can("patch", "apps", "deployments")
            result["ok"] = result["can_create_namespaces"] is not False and result["can_apply_workloads"] is not False
            if not result["ok"]:
                result["error"] = "The portal's identity may not create namespaces or apply workloads."
        finally:
            kube.close()
    except Exception as exc:  # a check reports every failure, whatever its type
        result["error"] = explain_failure(exc)
    Cluster.objects.filter(pk=cluster.pk).update(last_check=result, last_checked_at=timezone.now())
    cluster.last_check = result
    return result


def placement_for(environment: Environment) -> Placement:
    """The environment's placement, placing it on the default cluster the first time."""
    placement = Placement.objects.select_related("cluster").filter(environment=environment).first()
    if placement is not None:
        return placement
    cluster = Cluster.objects.filter(is_default=True).first()
    if cluster is None:
        raise ApplicationError("No cluster is registered yet; an operator must add one.", code=NO_CLUSTER, status=409)
    placement, _ = Placement.objects.get_or_create(environment=environment, defaults={"cluster": cluster})
    return placement


def cluster_of(environment: Environment) -> Cluster:
    """The cluster the environment runs on (placed on the default cluster the first time)."""
    return placement_for(environment).cluster


def kube_of(environment: Environment, **options) -> KubeClient:
    """A client for the environment's cluster: what every deployment step and day-2 operation talks to."""
    return kube_for(cluster_of(environment), **options)


def _refuse_foreign_namespace(kube: KubeClient, environment: Environment, cluster: Cluster) -> None:
    """Refuse a reserved namespace, the ingress controller's, or one that exists and is not this
    environment's: the portal never takes over a namespace it did not make for this environment."""
    name = environment.namespace
    reserved = reserved_namespace_pattern(name) or (name == cluster.ingress_namespace and name)
    if reserved:
        raise ApplicationError(
            f"The namespace “{name}” is reserved for the platform on {cluster.name}; this "
            "environment cannot be placed there.",
            code=NAMESPACE_NOT_OURS,
            status=409,
        )
    if not is_environments_namespace(kube.get("v1", "Namespace", name), environment):
        raise ApplicationError(
            f"The namespace “{name}” already exists on {cluster.name} and does not belong to "
            "this environment; the portal does not take over existing namespaces. An operator "
            "must remove it or place the environment elsewhere.",
            code=NAMESPACE_NOT_OURS,
            status=409,
        )


def environment_provision(*, environment: Environment) -> Placement:
    """Apply the environment's namespace, quota, limits and network policy to its cluster. Idempotent.
    Refused (ApplicationError) when the namespace is reserved or is someone else's on the cluster."""
    placement = placement_for(environment)
    quotas = list(Quota.objects.filter(tenant=environment.tenant, environment=environment))
    manifests = namespace_manifests(environment, quotas, ingress_namespace=placement.cluster.ingress_namespace)
    try:
        with KubeClient(api_client_for(placement.cluster)) as kube:
            _refuse_foreign_namespace(kube, environment, placement.cluster)
            kube.apply(manifests)
    except (KubeError, ApplicationError) as error:
        Placement.objects.filter(pk=placement.pk).update(last_error=error.message[:2000])
        raise
    Placement.objects.filter(pk=placement.pk).update(provisioned_at=timezone.now(), last_error="")
    placement.refresh_from_db()
    return placement
