"""The page frame: navigation per role, friendly error pages, a strict CSP."""

import pytest
from django.test import RequestFactory

from apps.core.views import server_error


def test_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_shows_navigation_for_a_developer(client, developer):
    client.force_login(developer)
    page = client.get("/").content.decode()
    assert "Developer console" in page
    assert "Operator console" not in page
    assert 'id="live-indicator"' in page


def test_operator_sees_the_operator_console_link(client, operator):
    client.force_login(operator)
    assert "Operator console" in client.get("/").content.decode()


def test_missing_page_is_friendly(client, developer):
    client.force_login(developer)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_server_error_page_needs_no_database_and_shows_the_request_id():
    request = RequestFactory().get("/")
    request.request_id = "abc123def456"
    response = server_error(request)
    assert response.status_code == 500
    assert "abc123def456" in response.content.decode()


@pytest.mark.django_db
def test_csp_forbids_inline_scripts(client):
    csp = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_templates_contain_no_inline_scripts_or_handlers():
    import re
    from pathlib import Path

    offenders = []
    for path in Path("templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=\"", text) or 'style="' in text:
            offenders.append(str(path))
    assert offenders == []
