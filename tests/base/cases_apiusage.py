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

# The operator's plan API is staff-only; tests/console/test_plans.py covers it.
NOT_TENANT_ROUTES = {"operator-plan"}


def _usage(world, tenant, n, reader):
    """n rows of the reader's own key, so every role may see them."""
    api_key = apikey_create(actor=reader, tenant=tenant, name=f"usage {secrets.token_hex(2)}", scopes=["apps:read"])[0]
    return [UsageDaily.objects.create(tenant=tenant, api_key=api_key, endpoint=f"GET thing-{i}-list",
                                      day=date.today() - timedelta(days=i % 30), requests=10 + i, errors_4xx=1,
                                      latency_ms_sum=50 * (10 + i))
            for i in range(n)]


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [ApiCase("usagedaily", UsageDaily, "apikeys", _usage, write_role=None)]


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    return [PageCase(T + "keys/usage/", lambda world, tenant: reverse("apikeys:usage",
                                                                       kwargs={"tenant_slug": tenant.slug}))]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
