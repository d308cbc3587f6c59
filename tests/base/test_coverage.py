"""A new endpoint or policed model cannot ship without an isolation-suite entry."""

from django.urls import get_resolver

from apps.core.policies import registered_models
from portal.api_router import router

from .api_cases import API_CASES, NOT_TENANT_ROUTES
from .page_cases import PAGE_CASES


def test_every_api_route_has_an_isolation_case():
    declared = {case.basename for case in API_CASES} | NOT_TENANT_ROUTES
    routed = {basename for _, _, basename in router.registry}
    assert routed - declared == set(), "add an ApiCase in tests/base/api_cases.py"


def test_every_policed_model_has_an_isolation_case():
    declared = {case.model for case in API_CASES}
    missing = [model.__name__ for model in registered_models() if model not in declared]
    assert missing == [], "add an ApiCase in tests/base/api_cases.py"


def _tenant_page_patterns(resolver=None, prefix=""):
    """Every URL pattern under /t/<tenant_slug>/, as its full route string."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            yield from _tenant_page_patterns(pattern, route)
        elif route.startswith("t/<slug:tenant_slug>/"):
            yield route


def test_every_tenant_page_has_an_isolation_case():
    declared = {case.route for case in PAGE_CASES}
    assert set(_tenant_page_patterns()) - declared == set(), "add a PageCase in tests/base/page_cases.py"
