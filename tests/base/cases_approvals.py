"""Isolation-suite declarations for the approvals app (see api_cases.py and page_cases.py).

Built on first access like cases_deployments.py, so either case module may be imported first.
"""

import secrets
from datetime import timedelta
from functools import cache

from django.urls import reverse
from django.utils import timezone

from apps.approvals.models import ApprovalPolicy, ApprovalStage, ChangeRequest, FreezeWindow
from apps.tenants.models import Environment, namespace_for
from apps.tenants.roles import Role

ADMINS_STAGE = {"position": 1, "name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER], "members": []}


def _environment(tenant, kind=Environment.Kind.NON_PRODUCTION):
    name = f"env-{secrets.token_hex(3)}"
    return Environment.objects.create(tenant=tenant, name=name, kind=kind, namespace=namespace_for(tenant.slug, name))


def _policies(world, tenant, n, reader):
    """n environments, each with a one-stage policy (admins and owners) not yet switched on, which admins
    may change: one that requires approval is the owners' (tests/approvals/test_api.py)."""
    rows = []
    for _ in range(n):
        policy = ApprovalPolicy.objects.create(tenant=tenant, environment=_environment(tenant), requires_approval=False)
        ApprovalStage.objects.create(policy=policy, position=1, name="Admins", roles=[Role.ADMIN, Role.OWNER])
        rows.append(policy)
    return rows


def _policy_create(world):
    return {
        "tenant": "acme",
        "environment": _environment(world.acme).pk,
        "stages": [{"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}],
    }


def _windows(world, tenant, n, reader):
    """n freezes to come, added by an admin, who may remove them until they are in effect."""
    start, admin = timezone.now() + timedelta(days=30), world.user(Role.ADMIN, tenant.slug)
    return [
        FreezeWindow.objects.create(
            tenant=tenant, name=f"freeze {i}", starts_at=start, ends_at=start + timedelta(hours=2), created_by=admin
        )
        for i in range(n)
    ]


def _window_create(world):
    start = timezone.now() + timedelta(days=60)
    return {
        "tenant": "acme",
        "name": "Black Friday",
        "recurrence": "once",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=1)).isoformat(),
    }


def change_request(tenant, requested_by, **fields) -> ChangeRequest:
    """A pending deploy request in the tenant's prod, without a deployment (nothing to render)."""
    defaults = {
        "kind": "scale",
        "environment": tenant.environments.get(name="prod"),
        "title": "Scale web to 3",
        "justification": "traffic",
        "requested_by": requested_by,
        "stages": [ADMINS_STAGE],
        "params": {"replicas": 3},
        "change": {"summary": ["web: 2 → 3 replicas"]},
    }
    return ChangeRequest.objects.create(tenant=tenant, **{**defaults, **fields})


def _requests(world, tenant, n, reader):
    developer = world.users[f"{tenant.slug}.developer"]
    return [change_request(tenant, developer) for _ in range(n)]


def _on_request(name):
    def url(world, tenant):
        row = change_request(tenant, world.users[f"{tenant.slug}.developer"])
        return reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": row.pk})

    return url


def _decide(verdict):
    def url(world, tenant):
        row = change_request(tenant, world.users[f"{tenant.slug}.developer"])
        return reverse(f"approvals:{verdict}", kwargs={"tenant_slug": tenant.slug, "pk": row.pk})

    return url


def _window_row(world, tenant):
    window = _windows(world, tenant, 1, None)[0]
    return reverse("approvals:freeze-delete", kwargs={"tenant_slug": tenant.slug, "pk": window.pk})


def _policy_row(world, tenant):
    policy = _policies(world, tenant, 1, None)[0]
    return reverse("approvals:policy-delete", kwargs={"tenant_slug": tenant.slug, "pk": policy.pk})


def _named(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug})


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase(
            "approvalpolicy",
            ApprovalPolicy,
            "approvals",
            _policies,
            create=_policy_create,
            update=lambda world, row: {"expire_after_hours": 24},
            delete=True,
        ),
        ApiCase("freezewindow", FreezeWindow, "approvals", _windows, create=_window_create, delete=True),
        ApiCase("changerequest", ChangeRequest, "approvals", _requests, write_role=Role.DEVELOPER),
    ]


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    admin_env = {
        "requires_approval": "on",
        "expire_after_hours": 72,
        "stage-0-name": "Admins",
        "stage-0-quorum": 1,
        "stage-0-roles": [Role.ADMIN, Role.OWNER],
    }
    return [
        PageCase(T + "approvals/", _named("approvals:queue")),
        PageCase(T + "approvals/<int:pk>/", _on_request("approvals:detail")),
        PageCase(T + "approvals/<int:pk>/progress/", _on_request("approvals:progress")),
        PageCase(
            T + "approvals/<int:pk>/approve/",
            _decide("approve"),
            method="post",
            write_role=Role.DEVELOPER,
            data={"comment": "ok"},
        ),
        PageCase(
            T + "approvals/<int:pk>/reject/",
            _decide("reject"),
            method="post",
            write_role=Role.DEVELOPER,
            data={"comment": "no"},
        ),
        PageCase(
            T + "approvals/<int:pk>/withdraw/",
            _on_request("approvals:withdraw"),
            method="post",
            write_role=Role.DEVELOPER,
        ),
        PageCase(T + "approvals/policies/", _named("approvals:policies")),
        PageCase(
            T + "approvals/policies/<int:environment>/",
            lambda world, tenant: reverse(
                "approvals:policy-edit",
                kwargs={"tenant_slug": tenant.slug, "environment": tenant.environments.get(name="prod").pk},
            ),
            method="post",
            write_role=Role.ADMIN,
            data=admin_env,
        ),
        PageCase(T + "approvals/policies/<int:pk>/delete/", _policy_row, method="post", write_role=Role.ADMIN),
        PageCase(T + "approvals/freezes/", _named("approvals:freezes")),
        PageCase(
            T + "approvals/freezes/new/",
            _named("approvals:freeze-new"),
            method="post",
            write_role=Role.ADMIN,
            data={
                "name": "Black Friday",
                "recurrence": "weekly",
                "weekdays": [4],
                "start_time": "08:00",
                "end_time": "18:00",
            },
        ),
        PageCase(T + "approvals/freezes/<int:pk>/delete/", _window_row, method="post", write_role=Role.ADMIN),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
