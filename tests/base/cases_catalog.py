"""Isolation-suite declarations for the catalog app (see api_cases.py and page_cases.py)."""

API_CASES: list = []
PAGE_CASES: list = []
