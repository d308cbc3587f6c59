"""Isolation-suite declarations for the traffic app (see api_cases.py and page_cases.py).

Rows are made directly (a route per made-up host), so nothing claims hosts or reaches a cluster.
"""

import secrets
from functools import cache

from django.urls import reverse

from apps.catalog.models import Application
from apps.tenants.principals import Principal
from apps.tenants.roles import Role
from apps.traffic.consumer_keys import consumer_key_create
from apps.traffic.models import ConsumerKey, Route, UsagePlan


def _application(tenant) -> Application:
    return Application.objects.get_or_create(tenant=tenant, name="routed", defaults={"component_kind": "web"})[0]


def route(tenant, **fields) -> Route:
    environment = tenant.environments.get(name="dev")
    suffix = secrets.token_hex(3)
    defaults = {"name": f"routed-{suffix}", "host": f"r{suffix}.{tenant.slug}-routes.com", "service_port": 8080}
    return Route.objects.create(
        tenant=tenant, environment=environment, application=_application(tenant), **{**defaults, **fields}
    )


def _routes(world, tenant, n, reader):
    return [route(tenant) for _ in range(n)]


def _create(world):
    _application(world.acme)
    return {
        "tenant": "acme",
        "environment": "dev",
        "application": "routed",
        "host": f"new-{secrets.token_hex(3)}.acme-routes.com",
        "service_port": 8080,
    }


def usage_plan(tenant, **fields) -> UsagePlan:
    values = {"name": f"plan-{secrets.token_hex(3)}", "requests_per_second": 5, "burst": 10, **fields}
    return UsagePlan.objects.create(tenant=tenant, **values)


def _usage_plans(world, tenant, n, reader):
    return [usage_plan(tenant) for _ in range(n)]


def _consumer_keys(world, tenant, n, reader):
    admin, plan = Principal(world.user(Role.ADMIN, tenant.slug)), usage_plan(tenant)
    return [consumer_key_create(actor=admin, tenant=tenant, name=f"consumer {i}", usage_plan=plan)[0] for i in range(n)]


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase(
            "route",
            Route,
            "routes",
            _routes,
            create=_create,
            update=lambda world, row: {"read_timeout_seconds": 20},
            delete=True,
            actions={
                "maintenance": lambda world, row: {"enabled": True, "message": "Back soon"},
                "degrade": lambda world, row: {"enabled": True},
            },
            write_role=Role.DEVELOPER,
        ),
        ApiCase(
            "usageplan",
            UsagePlan,
            "consumers",
            _usage_plans,
            create=lambda world: {"tenant": "acme", "name": "gold", "requests_per_second": 10, "burst": 20},
            update=lambda world, row: {"daily_quota": 1000},
            delete=True,
        ),
        ApiCase(
            "consumerkey",
            ConsumerKey,
            "consumers",
            _consumer_keys,
            create=lambda world: {"tenant": "acme", "name": "partner"},
            delete=True,
        ),
    ]


def _on_route(name):
    def url(world, tenant):
        row = route(tenant)
        return reverse(name, kwargs={"tenant_slug": tenant.slug, "name": row.application.name, "pk": row.pk})

    return url


def _traffic(world, tenant):
    return reverse("traffic:list", kwargs={"tenant_slug": tenant.slug, "name": _application(tenant).name})


FORM = {
    "environment": "dev",
    "host": "paged.acme-routes.com",
    "path": "/",
    "path_type": "prefix",
    "tls": "none",
    "auth": "none",
}
A = "t/<slug:tenant_slug>/apps/<slug:name>/traffic/"


@cache
def _page_cases() -> list:
    from .page_cases import PageCase

    developer = Role.DEVELOPER
    return [
        PageCase(A, _traffic),
        PageCase(A, _traffic, method="post", write_role=developer, data=FORM),
        PageCase(A + "<int:pk>/edit/", _on_route("traffic:edit"), read_role=developer),
        PageCase(
            A + "<int:pk>/edit/",
            _on_route("traffic:edit"),
            method="post",
            read_role=developer,
            write_role=developer,
            data={**FORM, "path": "/moved"},
        ),
        PageCase(
            A + "<int:pk>/maintenance/",
            _on_route("traffic:maintenance"),
            method="post",
            read_role=developer,
            write_role=developer,
            data={"enabled": "on", "message": "Back soon", "justification": ""},
        ),
        PageCase(
            A + "<int:pk>/degrade/",
            _on_route("traffic:degrade"),
            method="post",
            read_role=developer,
            write_role=developer,
            data={"enabled": "on", "message": "Limited for now", "justification": ""},
        ),
        PageCase(
            A + "<int:pk>/delete/",
            _on_route("traffic:delete"),
            method="post",
            read_role=developer,
            write_role=developer,
        ),
    ]


def _on_tenant_row(name, row):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": row(world, tenant).pk})


def _consumer_key(world, tenant):
    return _consumer_keys(world, tenant, 1, None)[0]


C = "t/<slug:tenant_slug>/consumers/"


@cache
def _consumer_page_cases() -> list:
    from .page_cases import PageCase

    admin = Role.ADMIN
    plan = {"name": "paged", "requests_per_second": "5", "burst": "10"}
    return [
        PageCase(C, lambda world, tenant: reverse("consumers:list", kwargs={"tenant_slug": tenant.slug})),
        PageCase(
            C,
            lambda world, tenant: reverse("consumers:list", kwargs={"tenant_slug": tenant.slug}),
            method="post",
            write_role=admin,
            data={"name": "paged consumer"},
        ),
        PageCase(
            C + "<int:pk>/revoke/", _on_tenant_row("consumers:revoke", _consumer_key), method="post", write_role=admin
        ),
        PageCase(
            C + "plans/",
            lambda world, tenant: reverse("consumers:plan-create", kwargs={"tenant_slug": tenant.slug}),
            method="post",
            write_role=admin,
            data=plan,
        ),
        PageCase(
            C + "plans/<int:pk>/",
            _on_tenant_row("consumers:plan-edit", lambda world, tenant: usage_plan(tenant)),
            read_role=admin,
        ),
        PageCase(
            C + "plans/<int:pk>/",
            _on_tenant_row("consumers:plan-edit", lambda world, tenant: usage_plan(tenant)),
            method="post",
            read_role=admin,
            write_role=admin,
            data={**plan, "requests_per_second": "6"},
        ),
        PageCase(
            C + "plans/<int:pk>/delete/",
            _on_tenant_row("consumers:plan-delete", lambda world, tenant: usage_plan(tenant)),
            method="post",
            write_role=admin,
        ),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases() + _consumer_page_cases()
    raise AttributeError(name)
