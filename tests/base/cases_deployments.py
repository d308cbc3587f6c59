"""Isolation-suite declarations for the deployments app (see api_cases.py and page_cases.py)."""

API_CASES: list = []
PAGE_CASES: list = []
