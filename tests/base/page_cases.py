"""Declarations of every tenant page (/t/<slug>/...) for the generic UI isolation suite.

Filled as pages are added; tests/base/test_coverage.py fails when a page has no case.
"""

from dataclasses import dataclass
from collections.abc import Callable


@dataclass
class PageCase:
    route: str  # the full URL pattern, e.g. "t/<slug:tenant_slug>/members/"
    url: Callable  # (world, tenant) -> path of a page in that tenant
    read_role: str = "viewer"
    method: str = "get"

    def __str__(self):
        return self.route


PAGE_CASES: list[PageCase] = []
