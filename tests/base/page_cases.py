"""Declarations of every tenant page (/t/<slug>/...) for the generic UI isolation suite.

Each PageCase gives the route, how to build a URL for a row in a given tenant, the method, who may
read it, and for write pages the role below which a submission must change nothing.
tests/base/test_coverage.py fails when a page has no case here.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.apikeys.services import apikey_create
from apps.tenants.models import Invitation, Membership
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

T = "t/<slug:tenant_slug>/"


@dataclass
class PageCase:
    route: str  # the full URL pattern
    url: Callable  # (world, tenant) -> path of the page for a row of that tenant
    method: str = "get"
    read_role: str = Role.VIEWER
    write_role: str | None = None  # POST pages: members below this role change nothing
    data: dict = field(default_factory=dict)
    read_status: int = 200  # 302 for a page that only sends a reader on to another of the tenant's pages

    def __str__(self):
        return self.route.removeprefix(T) or "overview"


def _named(name, **kwargs):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def _with_pk(name, row):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": row(world, tenant).pk})


def _environment(world, tenant):
    return tenant.environments.get(name="dev")


def _owner_membership(world, tenant):
    return Membership.objects.get(tenant=tenant, user=world.users[f"{tenant.slug}.owner"])


def _invitation(world, tenant):
    return Invitation.objects.create(
        tenant=tenant,
        email=f"guest-{secrets.token_hex(3)}@example.org",
        role=Role.VIEWER,
        token_hash=Invitation.hash_token(secrets.token_urlsafe(16)),
        invited_by=world.users[f"{tenant.slug}.owner"],
        expires_at=timezone.now() + timedelta(days=1),
    )


def _owners_key(world, tenant):
    return apikey_create(
        actor=as_principal(world.users[f"{tenant.slug}.owner"]), tenant=tenant, name="k", scopes=["apps:read"]
    )[0]


PAGE_CASES = [
    PageCase(T, _named("tenants:overview")),
    PageCase(T + "members/", _named("tenants:members")),
    PageCase(
        T + "members/invite/",
        _named("tenants:invite"),
        method="post",
        write_role=Role.ADMIN,
        data={"email": "someone@example.org", "role": Role.VIEWER},
    ),
    PageCase(T + "members/leave/", _named("tenants:leave"), method="post"),
    PageCase(
        T + "members/<int:pk>/role/",
        _with_pk("tenants:member-role", _owner_membership),
        method="post",
        write_role=Role.OWNER,
        data={"role": Role.VIEWER},
    ),
    PageCase(
        T + "members/<int:pk>/remove/",
        _with_pk("tenants:member-remove", _owner_membership),
        method="post",
        write_role=Role.OWNER,
    ),
    PageCase(
        T + "invitations/<int:pk>/revoke/",
        _with_pk("tenants:invitation-revoke", _invitation),
        method="post",
        write_role=Role.ADMIN,
    ),
    PageCase(T + "environments/", _named("tenants:environments")),
    PageCase(T + "environments/<int:pk>/", _with_pk("tenants:environment-edit", _environment)),
    PageCase(T + "environments/<int:pk>/delete/", _with_pk("tenants:environment-delete", _environment)),
    PageCase(T + "quotas/", _named("tenants:quotas")),
    PageCase(T + "keys/", _named("apikeys:list")),
    PageCase(
        T + "keys/<int:pk>/revoke/", _with_pk("apikeys:revoke", _owners_key), method="post", write_role=Role.ADMIN
    ),
    PageCase(T + "audit/", _named("audit:trail"), read_role=Role.ADMIN),
]

from . import cases_catalog, cases_deployments  # noqa: E402

PAGE_CASES += cases_catalog.PAGE_CASES + cases_deployments.PAGE_CASES

from . import cases_apiusage  # noqa: E402

PAGE_CASES += cases_apiusage.PAGE_CASES

from . import cases_cmdb  # noqa: E402

PAGE_CASES += cases_cmdb.PAGE_CASES

from . import cases_approvals  # noqa: E402

PAGE_CASES += cases_approvals.PAGE_CASES

from . import cases_webhooks  # noqa: E402

PAGE_CASES += cases_webhooks.PAGE_CASES

from . import cases_builds  # noqa: E402

PAGE_CASES += cases_builds.PAGE_CASES

from . import cases_marketplace  # noqa: E402

PAGE_CASES += cases_marketplace.PAGE_CASES

from . import cases_workloads  # noqa: E402

PAGE_CASES += cases_workloads.PAGE_CASES

from . import cases_traffic  # noqa: E402

PAGE_CASES += cases_traffic.PAGE_CASES
