"""Every write of routes: create, change, delete, apply to the cluster, and the routes releases make.

A route's host is claimed for its tenant first (apps/tenants/claims.py: one tenant per host platform-wide,
two tenants racing for it end with one owner and a 409 for the other), then checked against every other
route on that host. Bad input is refused as one 400 naming each field, before anything is stored or
applied. In a governed environment a change waits for approval (change kind `route`) and is carried
out by `route_change_carry_out` once approved. The cluster work runs in a task after commit.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.catalog.models import Application
from apps.clusters.kube import KubeError
from apps.clusters.models import Placement
from apps.clusters.selectors import cluster_for_environment
from apps.clusters.services import environment_provision, kube_of
from apps.core.audit import audit_record
from apps.core.errors import INVALID, NAME_TAKEN, ApplicationError, FieldErrors, require
from apps.core.events import emit_on_commit
from apps.core.governance import Change, gate
from apps.core.locks import lock_until_commit
from apps.core.policies import policy_for
from apps.tenants.claims import host_claim, is_dns_name, normalize_host, wildcard_claim
from apps.tenants.models import Environment, Tenant
from apps.tenants.principals import Principal

from . import maintenance, renderers
from .models import Route

APPLY_TASK = "apps.traffic.tasks.apply_route"
REMOVE_TASK = "apps.traffic.tasks.remove_route"
SYNC_TASK = "apps.traffic.tasks.sync_maintenance_server"
PATH_CONFLICT = "path_conflict"
CHANGE_KIND = "route"

# What a person sets on a route, and the bounds of the numbers among it.
FIELDS = (
    "host",
    "path",
    "path_type",
    "service_port",
    "tls",
    "tls_secret",
    "cert_issuer",
    "connect_timeout_seconds",
    "read_timeout_seconds",
    "max_body_size_mb",
    "cors_allow_origins",
    "rate_limit_rps",
    "rate_limit_burst",
    "rate_limit_connections",
    "auth",
)
BOUNDS = {
    "service_port": (1, 65535),
    "connect_timeout_seconds": (1, 3600),
    "read_timeout_seconds": (1, 3600),
    "max_body_size_mb": (1, 1024),
    "rate_limit_rps": (1, 10000),
    "rate_limit_burst": (1, 100000),
    "rate_limit_connections": (1, 10000),
}
MAX_ORIGINS = 16
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?$")


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=INVALID, field=field)


# --- Checking what was asked for --------------------------------------------------------------


def _check_fields(route: Route) -> None:
    """Every field on its own, all refusals at once (400 naming each field)."""
    problems = FieldErrors()
    for field, check in (
        ("path", _check_path),
        ("path_type", _check_choice),
        ("tls", _check_choice),
        ("auth", _check_choice),
        ("tls_secret", _check_tls),
        ("cert_issuer", _check_tls),
        ("cors_allow_origins", _check_origins),
        ("rate_limit_burst", _check_burst),
    ):
        with problems.check():
            check(route, field)
    for field, (low, high) in BOUNDS.items():
        with problems.check():
            _check_bound(route, field, low, high)
    with problems.check():
        if route.service_port is None:
            raise _refuse("service_port", "Name the port of the application's Service (no release names one yet).")
    with problems.check():
        _check_host_name(route)
    with problems.check():
        _check_renderer(route)
    problems.raise_any()


def _check_host_name(route: Route) -> None:
    route.host = normalize_host(route.host)
    if route.host.startswith("*."):
        return  # a wildcard is checked against the domains reserved for the tenant (_claim)
    if not is_dns_name(route.host):
        raise _refuse("host", f"“{route.host}” is not a DNS host name, for example shop.example.com.")


def _check_path(route: Route, field: str) -> None:
    if not isinstance(route.path, str) or not _PATH.match(route.path) or "//" in route.path:
        raise _refuse("path", "A path starts with / and holds only URL path characters, for example /api.")


def _check_choice(route: Route, field: str) -> None:
    choices = {"path_type": Route.PathType.values, "tls": Route.TLS.values, "auth": Route.Auth.values}[field]
    if getattr(route, field) not in choices:
        raise _refuse(field, f"{field.replace('_', ' ').capitalize()} is one of {', '.join(choices)}.")


def _check_bound(route: Route, field: str, low: int, high: int) -> None:
    value = getattr(route, field)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(field, f"{field.replace('_', ' ').capitalize()} is a whole number from {low} to {high}.")


def _check_burst(route: Route, field: str) -> None:
    if route.rate_limit_burst is None:
        return
    if not route.rate_limit_rps:
        raise _refuse(field, "A burst needs a rate limit (rate_limit_rps) to burst above.")
    both = isinstance(route.rate_limit_burst, int) and isinstance(route.rate_limit_rps, int)
    if both and route.rate_limit_burst < route.rate_limit_rps:
        raise _refuse(field, "The burst is at least the rate limit (rate_limit_rps).")


def _check_tls(route: Route, field: str) -> None:
    if field == "cert_issuer":
        if route.tls != Route.TLS.ISSUE:
            route.cert_issuer = ""  # only an issued certificate names an issuer
        elif not _SUBDOMAIN.match(route.cert_issuer or ""):
            raise _refuse(field, "Name the cert-manager ClusterIssuer that issues the certificate.")
        return
    if route.tls != Route.TLS.SECRET:
        route.tls_secret = ""  # only a route that brings its own certificate names its Secret
        return
    secret = route.tls_secret or ""
    if "/" in secret:
        namespace, _, secret = secret.partition("/")
        if namespace != route.environment.namespace:
            raise _refuse(
                field,
                f"The TLS secret must be in the route's namespace ({route.environment.namespace}); "
                "a route cannot use another namespace's certificate.",
            )
        route.tls_secret = secret
    if not _SUBDOMAIN.match(secret) or len(secret) > 253:
        raise _refuse(field, "Name the Secret (kubernetes.io/tls) in the route's namespace that holds the certificate.")


def _check_origins(route: Route, field: str) -> None:
    origins = route.cors_allow_origins
    if not isinstance(origins, list) or not all(isinstance(origin, str) for origin in origins):
        raise _refuse(field, 'Give the allowed origins as a list, for example ["https://app.example.com"].')
    if len(origins) > MAX_ORIGINS:
        raise _refuse(field, f"At most {MAX_ORIGINS} origins.")
    if "*" in origins and len(origins) > 1:
        raise _refuse(field, "“*” allows every origin and stands alone.")
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise _refuse(field, f"“{origin}” is not an origin; write it as https://app.example.com[:port].")


def _check_renderer(route: Route) -> None:
    target = renderers.Target.of(cluster_for_environment(route.environment))
    problems = renderers.unsupported_fields(route, target)
    if problems:
        raise ApplicationError.invalid({field: [f"Not available here: {why}."] for field, why in problems.items()})


def _check_target(tenant: Tenant, environment: Environment, application: Application) -> None:
    problems = FieldErrors()
    with problems.check():
        if environment.tenant_id != tenant.pk:
            raise _refuse("environment", "No such environment in this organization.")
    with problems.check():
        if application.tenant_id != tenant.pk:
            raise _refuse("application", "No such application in this organization.")
        if application.component_kind != "web":
            raise _refuse("application", f"{application.name} is not a web service; only web services take traffic.")
    problems.raise_any()


def _default_port(application: Application) -> int | None:
    release = application.releases.exclude(ports=[]).order_by("-number").first()
    ports = release.ports if release is not None else []
    return int(ports[0]["port"]) if ports else None


def _default_name(application: Application, environment: Environment) -> str:
    taken = set(Route.objects.filter(environment=environment).values_list("name", flat=True))
    if application.name not in taken:
        return application.name
    n = 2
    while f"{application.name}-{n}" in taken:
        n += 1
    return f"{application.name}-{n}"


def _claim(route: Route) -> None:
    """Claim the host for the tenant (409 when another holds it) and refuse a path another route on the
    host already serves. The claim serialises everyone under the host's domain until commit, so the
    conflict check below sees every route committed before it."""
    if route.host.startswith("*."):
        wildcard_claim(tenant=route.tenant, host=route.host, field="host")
    else:
        host_claim(tenant=route.tenant, host=route.host, field="host")
    others = Route.objects.filter(host=route.host, path=route.path).exclude(pk=route.pk).select_related("environment")
    for other in others:
        promoted = route.from_release and other.from_release and other.application_id == route.application_id
        if promoted and other.environment_id != route.environment_id:
            continue  # one application's release host, in each environment it is promoted through
        raise ApplicationError(
            f"{route.host}{route.path} is already routed (route “{other.name}” in {other.environment.name}); "
            "choose another path or change that route.",
            code=PATH_CONFLICT,
            field="path",
        )


# --- Governance -------------------------------------------------------------------------------


def _gated(route: Route, actor: Principal, op: str, params: dict, justification: str, break_glass: str):
    """The change request the change waits for in a governed environment, else None (go ahead)."""
    change = Change(
        kind=CHANGE_KIND,
        tenant=route.tenant,
        actor=actor,
        environment=route.environment,
        params={"route": route.pk, "op": op, **params},
        title=f"{op.capitalize()} route {route.host}{route.path} in {route.environment.name}",
        justification=justification,
        break_glass_reason=break_glass,
    )
    verdict = gate().assess(change)
    if not (verdict.needs_approval or verdict.break_glass):
        return None
    request = gate().open(change, verdict)
    return request if verdict.needs_approval else None


def _snapshot(route: Route) -> dict:
    return {field: getattr(route, field) for field in FIELDS}


def _event(route: Route, event: str, **extra: Any) -> None:
    emit_on_commit(
        tenant_id=route.tenant_id,
        event=event,
        data={
            "route": route.pk,
            "host": route.host,
            "path": route.path,
            "application": route.application.name,
            "environment": route.environment.name,
            **extra,
        },
    )


def _dispatch(task_name: str, *args) -> None:
    from celery import current_app

    transaction.on_commit(lambda: current_app.send_task(task_name, args=list(args)))


# --- Create, change, delete -------------------------------------------------------------------


def route_create(
    *,
    actor: Principal,
    tenant: Tenant,
    environment: Environment,
    application: Application,
    name: str = "",
    justification: str = "",
    break_glass_reason: str = "",
    **fields: Any,
) -> Route:
    """Add a route. Refused with 400 naming each bad field, 409 when another tenant holds the host; in a
    governed environment it is stored waiting for approval (`change_request` set) and applied after."""
    require(policy_for(Route).can_add(actor, tenant), tenant=tenant)
    _check_target(tenant, environment, application)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Not a route field.")
    route = Route(
        tenant=tenant,
        environment=environment,
        application=application,
        created_by=actor.user if actor.is_authenticated else None,
        **fields,
    )
    if route.service_port is None:
        route.service_port = _default_port(application)
    if route.cors_allow_origins is None:
        route.cors_allow_origins = []
    problems = FieldErrors()
    with problems.check():
        _check_fields(route)
    with problems.check():
        route.name = _check_name(route, name or _default_name(application, environment))
    problems.raise_any()
    with transaction.atomic():
        _claim(route)
        route.state = Route.State.PENDING
        _save_new(route)
        audit_record(
            actor=actor,
            action="route.create",
            obj=route,
            tenant=tenant,
            changes={field: [None, value] for field, value in _snapshot(route).items() if value not in (None, "", [])},
        )
        route.change_request = _gated(route, actor, "create", {}, justification, break_glass_reason)
        if route.change_request is not None:
            route.state = Route.State.WAITING
            route.save(update_fields=["state", "updated_at"])
            return route
        _event(route, "route.created")
        _dispatch(APPLY_TASK, route.pk)
    return route


def _check_name(route: Route, name: str) -> str:
    if not _NAME.match(name or ""):
        raise _refuse("name", "A route's name is a DNS label: lower-case letters, digits and dashes, at most 63.")
    if Route.objects.filter(environment=route.environment, name=name).exclude(pk=route.pk).exists():
        raise ApplicationError(
            f"There is already a route called “{name}” in {route.environment.name}.", code=NAME_TAKEN, field="name"
        )
    return name


def _save_new(route: Route) -> None:
    try:
        with transaction.atomic():
            route.save()
    except IntegrityError:  # the same host and path, or name, made in this environment meanwhile
        raise ApplicationError(
            f"{route.host}{route.path} or the name {route.name} is already routed in {route.environment.name}.",
            code=PATH_CONFLICT,
            field="path",
        ) from None


def route_update(
    *,
    actor: Principal,
    route: Route,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
    **fields: Any,
) -> Route:
    """Change a route's fields (its name, environment and application stay). In a governed environment
    the change waits for approval and the route is unchanged until then (`change_request` set)."""
    require(policy_for(Route).can_change(actor, route), tenant=route.tenant)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Not a route field, or one that cannot change.")
    before = _snapshot(route)
    wanted = Route(**{f.attname: getattr(route, f.attname) for f in Route._meta.concrete_fields})
    wanted.environment, wanted.application, wanted.tenant = route.environment, route.application, route.tenant
    for field, value in fields.items():
        setattr(wanted, field, value if value is not None or field not in ("cors_allow_origins",) else [])
    _check_fields(wanted)
    changed = {field: value for field, value in _snapshot(wanted).items() if value != before[field]}
    route.change_request = None
    if not changed:
        return route
    with transaction.atomic():
        _claim(wanted)
        if not approved:
            route.change_request = _gated(
                route, actor, "update", {"fields": changed}, justification, break_glass_reason
            )
            if route.change_request is not None:
                return route
        for field, value in changed.items():
            setattr(route, field, value)
        route.state = Route.State.PENDING
        route.save()
        audit_record(
            actor=actor,
            action="route.update",
            obj=route,
            tenant=route.tenant,
            changes={field: [before[field], value] for field, value in changed.items()},
        )
        _event(route, "route.updated")
        _dispatch(APPLY_TASK, route.pk)
    return route


def route_delete(
    *,
    actor: Principal,
    route: Route,
    justification: str = "",
    break_glass_reason: str = "",
    approved: bool = False,
) -> Route | None:
    """Remove a route and its cluster object. Returns None when done, or the route with the change
    request its removal waits for in a governed environment. The host stays claimed by the tenant."""
    require(policy_for(Route).can_delete(actor, route), tenant=route.tenant)
    route.change_request = None
    with transaction.atomic():
        if not approved and route.state != Route.State.WAITING:
            route.change_request = _gated(route, actor, "delete", {}, justification, break_glass_reason)
            if route.change_request is not None:
                return route
        audit_record(
            actor=actor,
            action="route.delete",
            obj=route,
            tenant=route.tenant,
            changes={"host": [route.host, None], "path": [route.path, None]},
        )
        _event(route, "route.deleted")
        _dispatch(REMOVE_TASK, route.environment_id, route.name, route.pk)
        if not approved:  # requests about the route that still wait are moot now
            gate().withdraw(route, "The route was deleted.")
        route.delete()
    return None


# --- Carried out after approval ---------------------------------------------------------------


def route_change_carry_out(*, params: dict, actor) -> None:
    """Make an approved route change, as the member who asked for it."""
    from apps.tenants.principals import as_principal

    route = Route.objects.select_related("tenant", "environment", "application").filter(pk=params["route"]).first()
    if route is None:
        raise ApplicationError("The route was deleted before the change was carried out.", code=INVALID)
    principal = as_principal(actor)
    if params["op"] == "create":
        Route.objects.filter(pk=route.pk).update(state=Route.State.PENDING)
        route_apply(route_id=route.pk)
    elif params["op"] == "update":
        route_update(actor=principal, route=route, approved=True, **params["fields"])
    elif params["op"] == "delete":
        route_delete(actor=principal, route=route, approved=True)
    elif params["op"] in ("maintenance", "degrade"):
        from . import switches  # the switches build on this module

        switches.switch_carry_out(route=route, actor=principal, op=params["op"], fields=params["fields"])


def route_change_declined(*, params: dict) -> None:
    """A route that waited for approval to be made is removed when its request is rejected or expires."""
    if params.get("op") == "create":
        Route.objects.filter(pk=params["route"], state=Route.State.WAITING).delete()


# --- The cluster ------------------------------------------------------------------------------


def route_apply(*, route_id: int) -> Route | None:
    """Render the route for its cluster and apply it to the environment's namespace. The outcome (applied,
    or failed with the cluster's words) is kept on the row; a route waiting for approval is left alone."""
    route = Route.objects.select_related("tenant", "environment", "application").filter(pk=route_id).first()
    if route is None or route.state == Route.State.WAITING:
        return route
    try:
        placement = Placement.objects.filter(environment=route.environment).first()
        if placement is None or placement.provisioned_at is None:
            environment_provision(environment=route.environment)
        target = renderers.Target.of(cluster_for_environment(route.environment))
        with kube_of(route.environment) as kube, transaction.atomic():
            _lock_namespace(route.environment)
            wanted = renderers.render(route, target)
            live = _apply_beside_maintenance_server(kube, route, wanted)
            _remove_other_kinds(kube, route, target)
            _check_backend(route, wanted[0], live[0])
    except (KubeError, ApplicationError) as error:
        Route.objects.filter(pk=route.pk).update(state=Route.State.FAILED, last_error=error.message[:2000])
    else:
        Route.objects.filter(pk=route.pk).update(state=Route.State.APPLIED, last_error="", applied_at=timezone.now())
    route.refresh_from_db()
    return route


def _lock_namespace(environment: Environment) -> None:
    """Serialise the cluster work of one namespace's routes until commit: each decides from the rows
    whether the maintenance server is needed, and must not remove it under a route another just switched."""
    lock_until_commit(f"traffic:{environment.namespace}")


def _fallback_routes(environment: Environment) -> list[Route]:
    """The namespace's routes the maintenance server answers for (a route still waiting to be made is not)."""
    return list(
        Route.objects.filter(environment=environment)
        .filter(Q(maintenance=True) | Q(degraded=True))
        .exclude(state__in=[Route.State.WAITING, Route.State.DELETING, Route.State.REMOVED])
        .select_related("tenant", "environment")
        .order_by("host", "path", "id")
    )


def _apply_beside_maintenance_server(kube, route: Route, wanted: list[dict]) -> list[dict]:
    """Apply the route's objects with the maintenance server up first when any route of the namespace
    needs it, or removed after when none does: a route never points at a server that is not there."""
    needing = _fallback_routes(route.environment)
    if needing:
        maintenance_server_apply(kube, route.environment, needing)
    live = kube.apply(wanted)
    if not needing:
        maintenance_server_remove(kube, route.environment)
    return live


def maintenance_server_apply(kube, environment: Environment, routes: list[Route]) -> None:
    """Apply the namespace's maintenance server for these routes; refused when something the portal did
    not make already holds its name."""
    namespace = environment.namespace
    for api_version, kind in maintenance.KINDS:
        live = kube.get(api_version, kind, maintenance.SERVER_NAME, namespace)
        if live is not None and not maintenance.is_ours(live):
            raise ApplicationError(
                f"A {kind} called {maintenance.SERVER_NAME} in {namespace} was not made by the portal; "
                "the maintenance server needs that name.",
                code=INVALID,
            )
    kube.apply(maintenance.render(environment, routes, image=settings.MAINTENANCE_IMAGE))


def maintenance_server_remove(kube, environment: Environment) -> None:
    """Remove the namespace's maintenance server; one read when there is none."""
    namespace = environment.namespace
    if kube.get("v1", "ConfigMap", maintenance.SERVER_NAME, namespace) is None:
        return
    for api_version, kind in reversed(maintenance.KINDS):
        if maintenance.is_ours(kube.get(api_version, kind, maintenance.SERVER_NAME, namespace)):
            kube.delete(api_version, kind, maintenance.SERVER_NAME, namespace)


def maintenance_server_sync(*, environment_id: int) -> None:
    """Make the namespace's maintenance server match the routes that need it, or remove it."""
    environment = Environment.objects.select_related("tenant").get(pk=environment_id)
    with kube_of(environment) as kube, transaction.atomic():
        _lock_namespace(environment)
        needing = _fallback_routes(environment)
        if needing:
            maintenance_server_apply(kube, environment, needing)
        else:
            maintenance_server_remove(kube, environment)


def _check_backend(route: Route, wanted: dict, live: dict) -> None:
    """The cluster's answer names the backend the route was rendered with (an admission webhook or
    another writer may have changed it)."""
    expected, found = renderers.backend_of(wanted), renderers.backend_of(live)
    if expected != found:
        raise ApplicationError(
            f"The cluster's {live.get('kind', 'object')} sends traffic to {found[0]}:{found[1]}, "
            f"not {expected[0]}:{expected[1]}.",
            code=INVALID,
        )


def _remove_other_kinds(kube, route: Route, target: renderers.Target) -> None:
    """After the cluster's renderer changed, the route's object of the other kind goes."""
    for renderer, (api_version, kind) in renderers.KINDS.items():
        if renderer != target.renderer:
            _delete_ours(kube, api_version, kind, route.environment.namespace, route.name, route.pk)


def _delete_ours(kube, api_version: str, kind: str, namespace: str, name: str, route_id: int) -> None:
    try:
        live = kube.get(api_version, kind, name, namespace)
    except KubeError as error:
        if error.status == 404:  # the cluster does not serve the kind at all
            return
        raise
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    if live is not None and annotations.get(renderers.ROUTE_ANNOTATION) == str(route_id):
        kube.delete(api_version, kind, name, namespace)


def route_remove_objects(*, environment_id: int, name: str, route_id: int) -> None:
    """Delete a deleted route's objects from the cluster (whatever kind it was rendered as)."""
    environment = Environment.objects.select_related("tenant").get(pk=environment_id)
    with kube_of(environment) as kube:
        for api_version, kind in renderers.KINDS.values():
            _delete_ours(kube, api_version, kind, environment.namespace, name, route_id)
    maintenance_server_sync(environment_id=environment_id)  # the deleted route's page goes from the server


# --- Routes made from releases (apps/core/traffic.py) -----------------------------------------


def release_route(*, release, environment: Environment, actor) -> Route | None:
    """The route of a release's ingress host in an environment, made (or moved to the release's host and
    path) when the release is deployed there. One per application and environment; deploying claims
    the host for the tenant like any route, and refuses a path another route already serves."""
    application = release.application
    if not release.ingress_host or application.component_kind != "web" or not release.ports:
        return None
    route = Route.objects.filter(environment=environment, application=application, from_release=True).first()
    wanted = {
        "host": normalize_host(release.ingress_host),
        "path": release.ingress_path or "/",
        "service_port": int(release.ports[0]["port"]),
    }
    if route is not None and route.state == Route.State.REMOVED:  # this deploy's render applies it again
        Route.objects.filter(pk=route.pk).update(state=Route.State.APPLIED, last_error="")
        route.state = Route.State.APPLIED
        if route.serves_fallback:  # and the maintenance server it points at comes back with its apply
            _dispatch(APPLY_TASK, route.pk)
    if route is not None and all(getattr(route, field) == value for field, value in wanted.items()):
        return route
    with transaction.atomic():
        if route is None:
            route = Route(
                tenant=environment.tenant,
                environment=environment,
                application=application,
                from_release=True,
                state=Route.State.APPLIED,
                name=_default_name(application, environment),
                **wanted,
            )
            before: dict = {}
        else:
            before = {field: getattr(route, field) for field in wanted}
            for field, value in wanted.items():
                setattr(route, field, value)
        _check_fields(route)
        _claim(route)
        _save_new(route) if not before else route.save()
        audit_record(
            actor=actor,
            action="route.update" if before else "route.create",
            obj=route,
            tenant=route.tenant,
            changes={field: [before.get(field), value] for field, value in wanted.items()},
        )
    return route


def routes_removed(*, application, environment: Environment) -> None:
    """Removing the application from the environment deleted every object carrying its label, its routes'
    too: the routes say so (`removed`) instead of `applied`. A route made from a release comes back with
    the next deploy of the application; another one with its next save."""
    routes = Route.objects.filter(
        application=application,
        environment=environment,
        state__in=(Route.State.APPLIED, Route.State.PENDING, Route.State.FAILED),
    )
    served_pages = routes.filter(Q(maintenance=True) | Q(degraded=True)).exists()
    routes.update(state=Route.State.REMOVED, last_error="", applied_at=None)
    if served_pages:  # their pages go from the namespace's maintenance server, or the server with them
        _dispatch(SYNC_TASK, environment.pk)


def release_route_objects(*, release, environment: Environment) -> list[dict] | None:
    """What the release's route renders to on the environment's cluster; None when it has none."""
    route = (
        Route.objects.select_related("tenant", "environment", "application")
        .filter(environment=environment, application=release.application_id, from_release=True)
        .first()
    )
    if route is None or route.host != normalize_host(release.ingress_host):
        return None
    return renderers.render(route, renderers.Target.of(cluster_for_environment(environment)))
