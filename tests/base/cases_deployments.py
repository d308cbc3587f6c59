"""Isolation-suite declarations for the deployments app (see api_cases.py and page_cases.py).

api_cases.py and page_cases.py import this module at their end; API_CASES and PAGE_CASES are built
on first access (module __getattr__), so whichever of the two is imported first, the case class it
defines is already there and the other one is not imported half-way.
"""

import secrets
from functools import cache

from django.urls import reverse

from apps.catalog.models import Application, Release
from apps.deployments.choices import State
from apps.deployments.models import Deployment, DeploySettings
from apps.deployments.services import deploy_settings_for
from apps.tenants.models import Environment, namespace_for
from apps.tenants.roles import Role


def _release(tenant, name="web"):
    app, _ = Application.objects.get_or_create(tenant=tenant, name=name)
    number = app.releases.count() + 1
    return Release.objects.create(
        tenant=tenant, application=app, number=number, image=f"registry.example/{name}:{number}"
    )


def _deployments(world, tenant, n, reader):
    """n finished deployments (one app per row, so none blocks another) in the tenant's dev environment."""
    dev = tenant.environments.get(name="dev")
    rows = []
    for i in range(n):
        release = _release(tenant, f"app{Deployment.objects.count()}-{i}")
        rows.append(
            Deployment.objects.create(
                tenant=tenant,
                application=release.application,
                release=release,
                environment=dev,
                state=State.SUCCEEDED,
                last_seq=0,
            )
        )
    return rows


def _create(world):
    release = _release(world.acme, "fresh")
    return {"tenant": "acme", "release": release.pk, "environment": world.acme.environments.get(name="dev").pk}


def _rolled_out(world, tenant):
    """A succeeded deployment with an earlier good release, so both rollback and cancel have a target."""
    dev = tenant.environments.get(name="dev")
    first, second = _release(tenant, "shop"), _release(tenant, "shop")
    Deployment.objects.create(
        tenant=tenant, application=first.application, release=first, environment=dev, state=State.SUCCEEDED
    )
    return Deployment.objects.create(
        tenant=tenant, application=second.application, release=second, environment=dev, state=State.PROGRESSING
    )


def _on_row(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": _rolled_out(world, tenant).pk})


def _settings_row(world, tenant):
    settings = deploy_settings_for(tenant.environments.get(name="dev"))
    return reverse("deployments:settings-update", kwargs={"tenant_slug": tenant.slug, "pk": settings.pk})


def _settings(world, tenant, n, reader):
    """n environments' deploy settings (each environment has one)."""
    rows = []
    for i in range(n):
        name = f"env{i}-{secrets.token_hex(2)}"
        environment = Environment.objects.create(tenant=tenant, name=name, namespace=namespace_for(tenant.slug, name))
        rows.append(deploy_settings_for(environment))
    return rows


def _waiting_canary(world, tenant):
    """A canary waiting at its first step, so Continue has something to move."""
    dev = tenant.environments.get(name="dev")
    release = _release(tenant, f"canary{Deployment.objects.count()}")
    row = Deployment.objects.create(
        tenant=tenant,
        application=release.application,
        release=release,
        environment=dev,
        state=State.PROGRESSING,
        strategy="canary",
        strategy_config={"steps": [10, 100]},
        step=1,
        waiting=True,
    )
    return reverse("deployments:continue", kwargs={"tenant_slug": tenant.slug, "pk": row.pk})


def _named(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug})


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase("deployment", Deployment, "deployments", _deployments, create=_create, write_role=Role.DEVELOPER),
        ApiCase(
            "deploysettings",
            DeploySettings,
            "environments",
            _settings,
            lookup=lambda row: row.pk,
            update=lambda world, row: {"auto_rollback": not row.auto_rollback},
        ),
    ]


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    return [
        PageCase(T + "deployments/", _named("deployments:list")),
        PageCase(T + "deployments/new/", _named("deployments:new"), read_role=Role.DEVELOPER),
        PageCase(T + "deployments/<int:pk>/", _on_row("deployments:detail")),
        PageCase(
            T + "deployments/<int:pk>/rollback/",
            _on_row("deployments:rollback"),
            method="post",
            write_role=Role.DEVELOPER,
            data={"reason": "bad release"},
        ),
        PageCase(
            T + "deployments/<int:pk>/cancel/", _on_row("deployments:cancel"), method="post", write_role=Role.DEVELOPER
        ),
        PageCase(T + "deployments/<int:pk>/continue/", _waiting_canary, method="post", write_role=Role.DEVELOPER),
        PageCase(
            T + "deployments/<int:pk>/switch-back/",
            _on_row("deployments:switch-back"),
            method="post",
            write_role=Role.DEVELOPER,
        ),
        PageCase(
            T + "deployments/<int:pk>/pause/", _on_row("deployments:pause"), method="post", write_role=Role.DEVELOPER
        ),
        PageCase(
            T + "deployments/<int:pk>/resume/", _on_row("deployments:resume"), method="post", write_role=Role.DEVELOPER
        ),
        PageCase(
            T + "deployments/<int:pk>/scale/",
            _on_row("deployments:scale"),
            method="post",
            write_role=Role.DEVELOPER,
            data={"replicas": 3},
        ),
        PageCase(
            T + "deployments/<int:pk>/restart/",
            _on_row("deployments:restart"),
            method="post",
            write_role=Role.DEVELOPER,
        ),
        PageCase(
            T + "deployments/<int:pk>/promote/",
            _on_row("deployments:promote"),
            method="post",
            write_role=Role.DEVELOPER,
            data={"environment": ""},
        ),
        PageCase(
            T + "deployments/<int:pk>/remove/", _on_row("deployments:remove"), method="post", write_role=Role.DEVELOPER
        ),
        PageCase(T + "deployments/settings/", _named("deployments:settings")),
        PageCase(
            T + "deployments/settings/<int:pk>/",
            _settings_row,
            method="post",
            write_role=Role.ADMIN,
            data={"auto_rollback": "on"},
        ),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
