"""Declarations of every tenant API endpoint for the generic isolation suite.

One ApiCase per router basename says how to make rows in a tenant, what a create and an update look
like, and which roles may read and write. tests/base/test_api_isolation.py turns each into the
same battery of tests; test_coverage.py fails when a route or a policed model has no case here.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from apps.apikeys.models import APIKey
from apps.apikeys.services import apikey_create
from apps.audit.models import AuditEvent
from apps.core.audit import audit_record
from apps.tenants.models import Environment, Invitation, Membership, Quota, Tenant, namespace_for
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role
from tests.factories import UserFactory


@dataclass
class ApiCase:
    basename: str
    model: type
    resource: str
    make: Callable  # (world, tenant, n, reader) -> list of rows in tenant that `reader` may see
    lookup: Callable = lambda row: row.pk
    create: Callable | None = None  # (world) -> payload creating a row in acme
    update: Callable | None = None  # (world, row) -> payload
    delete: bool = False
    # Detail actions that write (POST /{id}/<name>/): url name -> (world, row) -> payload.
    actions: dict[str, Callable] | None = None
    read_role: str = Role.VIEWER
    write_role: str | None = Role.ADMIN  # None: every member may write (their own rows)

    def __str__(self):
        return self.basename


def _tenants(world, tenant, n, reader):
    rows = [tenant]
    for i in range(n - 1):
        extra = Tenant.objects.create(slug=f"{tenant.slug}-x{i}", name=f"Extra {i}")
        Membership.objects.create(tenant=extra, user=reader, role=Role.VIEWER)
        rows.append(extra)
    return rows


def _memberships(world, tenant, n, reader):
    rows = []
    for _ in range(n):
        rows.append(Membership.objects.create(tenant=tenant, user=UserFactory(), role=Role.VIEWER))
    return rows


def _invitations(world, tenant, n, reader):
    inviter = world.users[f"{tenant.slug}.owner"]
    return [
        Invitation.objects.create(
            tenant=tenant,
            email=f"invitee{i}-{secrets.token_hex(3)}@example.org",
            role=Role.VIEWER,
            token_hash=Invitation.hash_token(secrets.token_urlsafe(16)),
            invited_by=inviter,
            expires_at=timezone.now() + timedelta(days=7),
        )
        for i in range(n)
    ]


def _environments(world, tenant, n, reader):
    rows = []
    for i in range(n):
        name = f"env{i}-{secrets.token_hex(2)}"
        rows.append(Environment.objects.create(tenant=tenant, name=name, namespace=namespace_for(tenant.slug, name)))
    return rows


def _quotas(world, tenant, n, reader):
    return [
        Quota.objects.create(tenant=tenant, environment=env, resource="pods", limit=10)
        for env in _environments(world, tenant, n, reader)
    ]


def _api_keys(world, tenant, n, reader):
    owner = world.users[f"{tenant.slug}.owner"]
    return [
        apikey_create(actor=as_principal(owner), tenant=tenant, name=f"key {i}", scopes=["apps:read"])[0]
        for i in range(n)
    ]


def _audit_events(world, tenant, n, reader):
    owner = world.users[f"{tenant.slug}.owner"]
    return [
        audit_record(actor=owner, action="test.event", tenant=tenant, object_display=f"thing {i}") for i in range(n)
    ]


API_CASES = [
    ApiCase(
        "tenant",
        Tenant,
        "tenant",
        _tenants,
        lookup=lambda row: row.slug,
        update=lambda world, row: {"name": "Renamed Inc"},
        write_role=Role.OWNER,
    ),
    ApiCase(
        "membership",
        Membership,
        "members",
        _memberships,
        update=lambda world, row: {"role": Role.DEVELOPER},
        delete=True,
    ),
    ApiCase(
        "invitation",
        Invitation,
        "invitations",
        _invitations,
        read_role=Role.ADMIN,
        create=lambda world: {"tenant": "acme", "email": "newcomer@example.org", "role": Role.VIEWER},
        delete=True,
    ),
    ApiCase(
        "environment",
        Environment,
        "environments",
        _environments,
        create=lambda world: {"tenant": "acme", "name": "qa", "kind": "non_production"},
        update=lambda world, row: {"name": f"{row.name}-renamed"},
        delete=True,
    ),
    ApiCase("quota", Quota, "quotas", _quotas, write_role=None),
    ApiCase(
        "apikey",
        APIKey,
        "apikeys",
        _api_keys,
        read_role=Role.ADMIN,
        write_role=None,
        create=lambda world: {"tenant": "acme", "name": "ci", "scopes": ["apps:read"]},
        delete=True,
    ),
    ApiCase("auditevent", AuditEvent, "audit", _audit_events, read_role=Role.ADMIN, write_role=None),
]

from . import cases_catalog, cases_deployments  # noqa: E402

API_CASES += cases_catalog.API_CASES + cases_deployments.API_CASES

# Routes tested elsewhere: the caller's own profile, and the operator API (tests/operator).
# Service templates are platform-wide (every tenant reads them); tests/catalog/test_api.py covers them.
NOT_TENANT_ROUTES = {
    "operator-tenant",
    "operator-quota",
    "operator-auditevent",
    "operator-cluster",
    "template",
    "operator-domain",
    "operator-hostclaim",
    "operator-imagerule",  # tests/catalog/test_image_rules.py covers it
}  # tests/tenants/test_hosts.py covers them

from . import cases_apiusage  # noqa: E402

API_CASES += cases_apiusage.API_CASES
NOT_TENANT_ROUTES |= cases_apiusage.NOT_TENANT_ROUTES

from . import cases_cmdb  # noqa: E402

API_CASES += cases_cmdb.API_CASES
NOT_TENANT_ROUTES |= cases_cmdb.NOT_TENANT_ROUTES

from . import cases_approvals  # noqa: E402

API_CASES += cases_approvals.API_CASES
NOT_TENANT_ROUTES |= {"operator-changerequest"}  # tests/approvals/test_api.py covers it

from . import cases_webhooks  # noqa: E402

API_CASES += cases_webhooks.API_CASES
NOT_TENANT_ROUTES |= cases_webhooks.NOT_TENANT_ROUTES

from . import cases_marketplace  # noqa: E402

API_CASES += cases_marketplace.API_CASES
NOT_TENANT_ROUTES |= cases_marketplace.NOT_TENANT_ROUTES

from . import cases_builds  # noqa: E402

API_CASES += cases_builds.API_CASES
NOT_TENANT_ROUTES |= {"image"}  # read from the registry, not rows: tests/builds/test_images.py covers it

from . import cases_workloads  # noqa: E402

API_CASES += cases_workloads.API_CASES

from . import cases_traffic  # noqa: E402

API_CASES += cases_traffic.API_CASES
