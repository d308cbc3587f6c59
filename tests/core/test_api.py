"""API conventions: JSON errors with a stable code, and the OpenAPI schema."""

import pytest


@pytest.mark.django_db
def test_anonymous_api_call_gets_a_json_error_with_a_code(client):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"code": "not_authenticated", "detail": "Authentication credentials were not provided."}


def test_me_describes_the_signed_in_user(client, developer):
    client.force_login(developer)
    body = client.get("/api/v1/me/").json()
    assert body["email"] == developer.email
    assert body["mfa_enabled"] is False


@pytest.mark.django_db
def test_schema_lists_the_endpoints(client):
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    assert "/api/v1/me/" in response.json()["paths"]


@pytest.mark.django_db
def test_the_schema_is_generated_once_until_the_settings_change(client, settings):
    def schema():
        response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
        assert response.status_code == 200
        return response.data

    first = schema()
    assert schema() is first  # the same document, not generated again
    settings.LANGUAGE_CODE = settings.LANGUAGE_CODE  # a settings change, here to the same value, as tests make
    again = schema()
    assert again is not first and again == first


@pytest.mark.django_db
def test_api_docs_page_loads_vendored_assets(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()


@pytest.mark.django_db
def test_api_docs_relax_only_styles_never_scripts(client):
    csp = client.get("/api/docs/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp
    assert "script-src 'self';" in csp or csp.rstrip().endswith("script-src 'self'")
