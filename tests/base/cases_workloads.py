"""Isolation-suite declarations for the workloads app (see api_cases.py and page_cases.py)."""

import itertools
from functools import cache

from django.urls import reverse
from django.utils import timezone

from apps.catalog.models import Application
from apps.tenants.roles import Role
from apps.workloads.models import Cause, Incident, Workload


def _workload(tenant, name="running"):
    app, _ = Application.objects.get_or_create(tenant=tenant, name=name, defaults={"component_kind": "web"})
    environment = tenant.environments.order_by("pk").first()
    return Workload.objects.get_or_create(tenant=tenant, application=app, environment=environment)[0]


def _workloads(world, tenant, n, reader):
    return [_workload(tenant, f"running{i}") for i in range(n)]


_names = itertools.count()


def _incidents(world, tenant, n, reader):
    now = timezone.now()
    return [
        Incident.objects.create(
            tenant=tenant,
            workload=_workload(tenant, f"unwell{next(_names)}"),
            cause=Cause.CRASH_LOOP,
            message="x",
            first_seen=now,
            last_seen=now,
        )
        for _ in range(n)
    ]


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    # Workloads are written by the portal from the cluster, never through the API; incidents are
    # acknowledged and resolved through actions (tests/workloads/test_incidents.py covers who may).
    return [
        ApiCase("workload", Workload, "deployments", _workloads, write_role=None),
        ApiCase("incident", Incident, "deployments", _incidents, write_role=None),
    ]


def _on(name, make):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": make(world, tenant).pk})


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    incident = lambda world, tenant: _incidents(world, tenant, 1, None)[0]  # noqa: E731
    return [
        PageCase(
            T + "workloads/", lambda world, tenant: reverse("workloads:list", kwargs={"tenant_slug": tenant.slug})
        ),
        PageCase(T + "workloads/<int:pk>/", _on("workloads:detail", lambda world, tenant: _workload(tenant))),
        PageCase(T + "workloads/<int:pk>/parts/", _on("workloads:parts", lambda world, tenant: _workload(tenant))),
        PageCase(
            T + "workloads/running-now/<int:pk>/",
            _on("workloads:running-now", lambda world, tenant: _workload(tenant).application),
        ),
        PageCase(
            T + "cmdb/workloads/<int:workload_id>/",
            lambda world, tenant: reverse(
                "cmdb:workload", kwargs={"tenant_slug": tenant.slug, "workload_id": _workload(tenant).pk}
            ),
            read_status=302,
        ),
        PageCase(
            T + "workloads/incidents/",
            lambda world, tenant: reverse("workloads:incidents", kwargs={"tenant_slug": tenant.slug}),
        ),
        PageCase(
            T + "workloads/incidents/<int:pk>/acknowledge/",
            _on("workloads:incident-acknowledge", incident),
            method="post",
            write_role=Role.DEVELOPER,
        ),
        PageCase(
            T + "workloads/incidents/<int:pk>/resolve/",
            _on("workloads:incident-resolve", incident),
            method="post",
            write_role=Role.DEVELOPER,
        ),
        PageCase(
            T + "workloads/incidents/<int:pk>/restart/",
            _on("workloads:incident-restart", incident),
            method="post",
            write_role=Role.DEVELOPER,
        ),
        PageCase(
            T + "workloads/incidents/<int:pk>/scale/",
            _on("workloads:incident-scale", incident),
            method="post",
            write_role=Role.DEVELOPER,
        ),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
