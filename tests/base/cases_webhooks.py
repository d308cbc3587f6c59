"""Isolation-suite declarations for the webhooks app (see api_cases.py and page_cases.py).

Built on first access like cases_deployments.py, so either case module may be imported first. Rows point
at a public IP literal, so nothing here resolves names or sends anything.
"""

import uuid
from functools import cache

from django.urls import reverse
from django.utils import timezone

from apps.tenants.roles import Role
from apps.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint

PUBLIC_URL = "https://93.184.215.14/hooks/portal"


def endpoint(tenant, **fields) -> WebhookEndpoint:
    row = WebhookEndpoint(tenant=tenant, **{"url": PUBLIC_URL, "events": ["deployment.*"], **fields})
    row.secret = "whsec_test"
    row.save()
    return row


def delivery(row: WebhookEndpoint, **fields) -> WebhookDelivery:
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": "deployment.succeeded",
        "created_at": timezone.now().isoformat(),
        "tenant": row.tenant.slug,
        "data": {"deployment": 1},
    }
    defaults = {
        "event": "deployment.succeeded",
        "state": DeliveryState.SUCCEEDED,
        "attempts": 1,
        "response_code": 200,
        "latency_ms": 12,
    }
    return WebhookDelivery.objects.create(
        tenant=row.tenant, endpoint=row, event_id=event_id, payload=payload, **{**defaults, **fields}
    )


def _endpoints(world, tenant, n, reader):
    return [endpoint(tenant, description=f"hook {i}") for i in range(n)]


def _deliveries(world, tenant, n, reader):
    row = endpoint(tenant)
    return [delivery(row) for _ in range(n)]


def _on_endpoint(name, **fields):
    def url(world, tenant):
        return reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": endpoint(tenant, **fields).pk})

    return url


def _replay(world, tenant):
    return reverse("webhooks:replay", kwargs={"tenant_slug": tenant.slug, "pk": delivery(endpoint(tenant)).pk})


def _named(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug})


FORM = {"url": PUBLIC_URL, "description": "CI", "events": ["deployment.*"]}


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase(
            "webhookendpoint",
            WebhookEndpoint,
            "webhooks",
            _endpoints,
            read_role=Role.ADMIN,
            create=lambda world: {"tenant": "acme", "url": PUBLIC_URL, "events": ["deployment.*"]},
            update=lambda world, row: {"description": "renamed"},
            delete=True,
        ),
        ApiCase("webhookdelivery", WebhookDelivery, "webhooks", _deliveries, read_role=Role.ADMIN),
    ]


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    admin = Role.ADMIN
    return [
        PageCase(T + "webhooks/", _named("webhooks:list"), read_role=admin),
        PageCase(T + "webhooks/", _named("webhooks:list"), method="post", read_role=admin, write_role=admin, data=FORM),
        PageCase(T + "webhooks/<int:pk>/", _on_endpoint("webhooks:detail"), read_role=admin),
        PageCase(
            T + "webhooks/<int:pk>/edit/",
            _on_endpoint("webhooks:edit"),
            method="post",
            read_role=admin,
            write_role=admin,
            data=FORM,
        ),
        PageCase(
            T + "webhooks/<int:pk>/test/",
            _on_endpoint("webhooks:test"),
            method="post",
            read_role=admin,
            write_role=admin,
        ),
        PageCase(
            T + "webhooks/<int:pk>/enable/",
            _on_endpoint("webhooks:enable", is_active=False),
            method="post",
            read_role=admin,
            write_role=admin,
        ),
        PageCase(
            T + "webhooks/<int:pk>/rotate-secret/",
            _on_endpoint("webhooks:rotate-secret"),
            method="post",
            read_role=admin,
            write_role=admin,
        ),
        PageCase(
            T + "webhooks/<int:pk>/delete/",
            _on_endpoint("webhooks:delete"),
            method="post",
            read_role=admin,
            write_role=admin,
        ),
        PageCase(T + "webhooks/deliveries/<int:pk>/replay/", _replay, method="post", read_role=admin, write_role=admin),
    ]


NOT_TENANT_ROUTES = {"operator-webhookendpoint"}  # tests/webhooks/test_api.py covers it


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
