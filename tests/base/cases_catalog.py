"""Isolation-suite declarations for the catalog app (see api_cases.py and page_cases.py).

api_cases.py and page_cases.py import this module at their end; API_CASES and PAGE_CASES are built
on first access (module __getattr__), so whichever of the two is imported first, the case class it
defines is already there and the other one is not imported half-way.
"""

import secrets
from functools import cache

from django.urls import reverse

from apps.catalog.models import Application, Release
from apps.tenants.roles import Role


def _applications(world, tenant, n, reader):
    return [Application.objects.create(tenant=tenant, name=f"app-{secrets.token_hex(4)}") for _ in range(n)]


def _releases(world, tenant, n, reader):
    application = _application(world, tenant)
    start = application.releases.count()
    return [
        Release.objects.create(
            tenant=tenant,
            application=application,
            number=start + i + 1,
            image=f"registry.example.com/shop:{start + i + 1}",
        )
        for i in range(n)
    ]


def _application(world, tenant, name="shop"):
    return Application.objects.get_or_create(tenant=tenant, name=name)[0]


def _with_release(world, tenant):
    application = _application(world, tenant)
    if not application.releases.exists():
        Release.objects.create(tenant=tenant, application=application, number=1, image="nginx:1.27")
    return application


def _app_page(name, **extra):
    return lambda world, tenant: reverse(
        name, kwargs={"tenant_slug": tenant.slug, "name": _with_release(world, tenant).name, **extra}
    )


def _named(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug})


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase(
            "application",
            Application,
            "apps",
            _applications,
            write_role=Role.DEVELOPER,
            create=lambda world: {"tenant": "acme", "name": f"new-{secrets.token_hex(3)}", "component_kind": "web"},
            update=lambda world, row: {"description": "Sells things.", "team": "Web"},
        ),
        ApiCase(
            "release",
            Release,
            "releases",
            _releases,
            write_role=Role.DEVELOPER,
            create=lambda world: {
                "tenant": "acme",
                "application": _application(world, world.acme).pk,
                "image": "nginx:1.27",
                "ports": [{"name": "http", "port": 80}],
            },
        ),
    ]


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    new_app = {"name": "fresh", "component_kind": "web"}
    details = {"description": "Sells things.", "team": "Web"}
    release = {"image": "nginx:1.27", "replicas": "1", "cpu_request": "100m", "memory_request": "128Mi"}
    return [
        PageCase(T + "apps/", _named("catalog:list")),
        PageCase(T + "apps/new/", _named("catalog:new")),
        PageCase(T + "apps/new/", _named("catalog:new"), method="post", write_role=Role.DEVELOPER, data=new_app),
        PageCase(T + "apps/<slug:name>/", _app_page("catalog:detail")),
        PageCase(T + "apps/<slug:name>/edit/", _app_page("catalog:edit")),
        PageCase(
            T + "apps/<slug:name>/edit/",
            _app_page("catalog:edit"),
            method="post",
            write_role=Role.DEVELOPER,
            data=details,
        ),
        PageCase(T + "apps/<slug:name>/releases/", _app_page("catalog:releases")),
        PageCase(
            T + "apps/<slug:name>/releases/",
            _app_page("catalog:releases"),
            method="post",
            write_role=Role.DEVELOPER,
            data=release,
        ),
        PageCase(T + "apps/<slug:name>/releases/<int:number>/", _app_page("catalog:release", number=1)),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
