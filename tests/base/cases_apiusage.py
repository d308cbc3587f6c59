"""Isolation-suite declarations for API usage (see api_cases.py and page_cases.py).

Built on first access (module __getattr__), like cases_catalog.py, so whichever of api_cases.py and
page_cases.py is imported first, the other is not imported half-way.
"""

import secrets
from datetime import date, timedelta
from functools import cache

from django.urls import reverse

from apps.apikeys.models import UsageDaily
from apps.apikeys.services import apikey_create
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

# The operator's plan API is staff-only; tests/operator/test_plans.py covers it.
NOT_TENANT_ROUTES = {"operator-plan"}


def _usage(world, tenant, n, reader):
    """n rows of the reader's own key, so every role may see them."""
    api_key = apikey_create(
        actor=as_principal(reader), tenant=tenant, name=f"usage {secrets.token_hex(2)}", scopes=["apps:read"]
    )[0]
    return [
        UsageDaily.objects.create(
            tenant=tenant,
            api_key=api_key,
            endpoint=f"GET thing-{i}-list",
            day=date.today() - timedelta(days=i % 30),
            requests=10 + i,
            errors_4xx=1,
            latency_ms_sum=50 * (10 + i),
        )
        for i in range(n)
    ]


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [ApiCase("usagedaily", UsageDaily, "apikeys", _usage, write_role=None)]


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    def owners_key(name):
        def url(world, tenant):
            api_key = apikey_create(
                actor=as_principal(world.users[f"{tenant.slug}.owner"]), tenant=tenant, name="k", scopes=["apps:read"]
            )[0]
            return reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": api_key.pk})

        return url

    # Rotating, auto-rotation and revealing are for the key's own user: an admin changes nothing.
    return [
        PageCase(
            T + "keys/usage/", lambda world, tenant: reverse("apikeys:usage", kwargs={"tenant_slug": tenant.slug})
        ),
        PageCase(
            T + "keys/<int:pk>/rotate/",
            owners_key("apikeys:rotate"),
            method="post",
            write_role=Role.OWNER,
            data={"overlap_hours": 24},
        ),
        PageCase(
            T + "keys/<int:pk>/auto-rotate/",
            owners_key("apikeys:auto-rotate"),
            method="post",
            write_role=Role.OWNER,
            data={"auto_rotate": "on"},
        ),
        PageCase(T + "keys/<int:pk>/reveal/", owners_key("apikeys:reveal"), method="post", write_role=Role.OWNER),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
