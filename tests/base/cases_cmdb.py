"""Isolation-suite declarations for the CMDB (see api_cases.py and page_cases.py).

Built on first access (module __getattr__), like cases_catalog.py, so whichever of api_cases.py and
page_cases.py is imported first, the case class it defines is already there.
"""

import secrets
from functools import cache

from django.urls import reverse

from apps.cmdb.models import ChangeRecord, CIType, ConfigurationItem, ImportJob, Relationship, SavedFilter
from apps.tenants.roles import Role

# CI types are the platform's vocabulary (tests/cmdb/test_api.py covers them); the operator API is
# operators' only.
NOT_TENANT_ROUTES = {"cmdb-type", "operator-cmdb-type"}


def item(tenant, name=None, type_slug="database", **fields):
    return ConfigurationItem.objects.create(
        tenant=tenant,
        ci_type=CIType.objects.get(slug=type_slug),
        name=name or f"ci-{secrets.token_hex(4)}",
        key=f"declared/{secrets.token_hex(8)}",
        source="test",
        **fields,
    )


def _items(world, tenant, n, reader):
    return [item(tenant) for _ in range(n)]


def _edge(tenant):
    return Relationship.objects.create(
        tenant=tenant,
        source=item(tenant, type_slug="application"),
        target=item(tenant),
        kind="depends_on",
        origin="test",
    )


def _edges(world, tenant, n, reader):
    return [_edge(tenant) for _ in range(n)]


def _records(world, tenant, n, reader):
    subject = item(tenant)
    return [
        ChangeRecord.objects.create(
            tenant=tenant,
            item=subject,
            action="update",
            source="test",
            summary=f"change {i}",
            before={"name": "a"},
            after={"name": "b"},
        )
        for i in range(n)
    ]


def _filters(world, tenant, n, reader):
    return [
        SavedFilter.objects.create(tenant=tenant, name=f"search {secrets.token_hex(3)}", query={"type": "database"})
        for _ in range(n)
    ]


def _jobs(world, tenant, n, reader):
    return [ImportJob.objects.create(tenant=tenant, created_by=reader, file_format="csv", total=600) for _ in range(n)]


def _on_job(world, tenant):
    return reverse("cmdb:import-job", kwargs={"tenant_slug": tenant.slug, "pk": _jobs(world, tenant, 1, None)[0].pk})


def _edge_create(world):
    return {
        "tenant": "acme",
        "source": item(world.acme, type_slug="application").pk,
        "kind": "depends_on",
        "target": item(world.acme).pk,
    }


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase(
            "cmdb-item",
            ConfigurationItem,
            "cmdb",
            _items,
            write_role=Role.DEVELOPER,
            delete=True,
            create=lambda world: {
                "tenant": "acme",
                "type": "database",
                "name": "orders-db",
                "attributes": {"engine": "postgres"},
                "labels": {"tier": "gold"},
            },
            update=lambda world, row: {"description": "Orders live here."},
        ),
        ApiCase(
            "cmdb-relationship",
            Relationship,
            "cmdb",
            _edges,
            write_role=Role.DEVELOPER,
            create=_edge_create,
            delete=True,
        ),
        ApiCase("cmdb-history", ChangeRecord, "cmdb", _records, write_role=None),
        ApiCase("cmdb-import-job", ImportJob, "cmdb", _jobs, write_role=None),
        ApiCase(
            "cmdb-saved-filter",
            SavedFilter,
            "cmdb",
            _filters,
            write_role=Role.DEVELOPER,
            delete=True,
            create=lambda world: {"tenant": "acme", "name": "databases", "query": {"type": "database"}},
        ),
    ]


def _named(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug})


def _on_item(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": item(tenant).pk})


def _on_edge(world, tenant):
    return reverse("cmdb:relationship-delete", kwargs={"tenant_slug": tenant.slug, "pk": _edge(tenant).pk})


def _on_filter(world, tenant):
    saved = _filters(world, tenant, 1, None)[0]
    return reverse("cmdb:filter-delete", kwargs={"tenant_slug": tenant.slug, "pk": saved.pk})


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    dev = Role.DEVELOPER
    return [
        PageCase(T + "cmdb/", _named("cmdb:list")),
        PageCase(T + "cmdb/new/", _named("cmdb:new")),
        PageCase(
            T + "cmdb/new/",
            _named("cmdb:new"),
            method="post",
            write_role=dev,
            data={"ci_type": "database", "name": "orders-db"},
        ),
        PageCase(T + "cmdb/import/", _named("cmdb:import")),
        PageCase(T + "cmdb/import/", _named("cmdb:import"), method="post", write_role=dev),
        PageCase(T + "cmdb/import/<int:pk>/", _on_job),
        PageCase(T + "cmdb/export/", _named("cmdb:export")),
        PageCase(
            T + "cmdb/filters/",
            _named("cmdb:filter-save"),
            method="post",
            write_role=dev,
            data={"name": "databases", "type": "database"},
        ),
        PageCase(T + "cmdb/filters/<int:pk>/delete/", _on_filter, method="post", write_role=dev),
        PageCase(T + "cmdb/relationships/<int:pk>/delete/", _on_edge, method="post", write_role=dev),
        PageCase(T + "cmdb/<int:pk>/", _on_item("cmdb:detail")),
        PageCase(T + "cmdb/<int:pk>/edit/", _on_item("cmdb:edit")),
        PageCase(
            T + "cmdb/<int:pk>/edit/", _on_item("cmdb:edit"), method="post", write_role=dev, data={"name": "renamed"}
        ),
        PageCase(T + "cmdb/<int:pk>/delete/", _on_item("cmdb:delete"), method="post", write_role=dev),
        PageCase(T + "cmdb/<int:pk>/relate/", _on_item("cmdb:relationship-new")),
        PageCase(
            T + "cmdb/<int:pk>/relate/",
            _on_item("cmdb:relationship-new"),
            method="post",
            write_role=dev,
            data={"kind": "depends_on"},
        ),
        PageCase(T + "cmdb/<int:pk>/map/", _on_item("cmdb:map")),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
