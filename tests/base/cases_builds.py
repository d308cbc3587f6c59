"""Isolation-suite declarations for the builds app (see api_cases.py and page_cases.py)."""

from functools import cache

from django.urls import reverse

from apps.builds.models import Build, State
from apps.catalog.models import Application
from apps.tenants.roles import Role


def _builds(world, tenant, n, reader):
    """n finished builds of one application."""
    app, _ = Application.objects.get_or_create(tenant=tenant, name="built")
    return [
        Build.objects.create(
            tenant=tenant, application=app, tag=f"t{i}", image=f"registry.test/{tenant.slug}/built", state=State.FAILED
        )
        for i in range(n)
    ]


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    # Creating needs an engine and a registry; tests/builds/test_api.py covers who may start a build.
    return [ApiCase("build", Build, "builds", _builds, write_role=Role.DEVELOPER)]


def _queued(world, tenant):
    app, _ = Application.objects.get_or_create(tenant=tenant, name="built")
    return Build.objects.create(tenant=tenant, application=app, tag="t", image=f"registry.test/{tenant.slug}/built")


def _on_build(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": _queued(world, tenant).pk})


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    return [
        PageCase(
            T + "builds/new/",
            lambda world, tenant: reverse("builds:new", kwargs={"tenant_slug": tenant.slug}),
            read_role=Role.DEVELOPER,
        ),
        PageCase(T + "builds/<int:pk>/", _on_build("builds:detail")),
        PageCase(T + "builds/<int:pk>/cancel/", _on_build("builds:cancel"), method="post", write_role=Role.DEVELOPER),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
