"""The developer console: the member's keys with usage and actions, snippets for the chosen tenant, the
changelog; nothing of other tenants. And the API docs' "try it out" with the session and its CSRF token."""

import html
import re
from datetime import date

import pytest
from django.test import Client

from apps.apikeys.models import APIKey, UsageDaily
from apps.apikeys.selectors import today_utc
from apps.apikeys.services import apikey_create
from apps.tenants.roles import Role

pytestmark = pytest.mark.django_db


def _key(world, role=Role.DEVELOPER, tenant="acme", name="ci"):
    return apikey_create(
        actor=world.principal(role, tenant), tenant=getattr(world, tenant), name=name, scopes=["apps:read"]
    )[0]


def test_the_console_shows_the_members_keys_usage_and_snippets(world, client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    mine = _key(world, name="my pipeline")
    _key(world, role=Role.ADMIN, name="admin pipeline")
    today = today_utc()
    UsageDaily.objects.create(tenant=world.acme, api_key=mine, endpoint="GET application-list", day=today, requests=7)
    if today.day > 1:
        UsageDaily.objects.create(
            tenant=world.acme, api_key=mine, endpoint="GET application-list", day=today.replace(day=1), requests=5
        )
    UsageDaily.objects.create(
        tenant=world.acme, api_key=mine, endpoint="GET application-list", day=date(2000, 1, 1), requests=1000
    )
    client.force_login(world.user(Role.DEVELOPER))
    page = html.unescape(client.get("/console/", HTTP_HOST="portal.example.com").content.decode())

    assert "my pipeline" in page and mine.prefix in page and "admin pipeline" not in page
    row = page[page.index(f'data-key="{mine.pk}"') :]
    cells = re.findall(r'<td class="text-end small">(\d+)</td>', row)[:2]
    assert cells == ["7", "12" if today.day > 1 else "7"]
    assert f'action="/t/acme/keys/{mine.pk}/rotate/"' in page and 'name="return_to" value="console"' in page
    assert f'action="/t/acme/keys/{mine.pk}/revoke/"' in page and f"/t/acme/keys/{mine.pk}/auto-rotate/" in page
    # Snippets name this portal and tenant and read the key from the environment.
    assert 'export PORTAL_URL="http://portal.example.com"' in page
    assert "/api/v1/applications/?tenant=acme" in page and "Idempotency-Key: " in page
    assert "from portal_client import PortalClient" in page and "import requests" in page
    assert (
        "portalctl apps list --tenant acme" in page
        and "portalctl deploy --tenant acme --app shop --release 1 --env" in page
    )
    assert 'href="/api/docs/"' in page and 'id="api-changelog"' in page
    assert "v1 — additions in this release" in page and 'id="key-report"' in page
    assert "<script>" not in page and "onclick" not in page


def test_the_console_switches_tenant_and_shows_nothing_of_tenants_the_user_is_not_in(world, client):
    theirs = _key(world, role=Role.OWNER, tenant="globex", name="globex secret pipeline")
    client.force_login(world.user(Role.OWNER))
    page = client.get("/console/?tenant=acme").content.decode()
    assert "globex secret pipeline" not in page and theirs.prefix not in page and "?tenant=globex" not in page
    assert client.get("/console/?tenant=globex").status_code == 404
    assert client.get("/console/?tenant=nope").status_code == 404
    client.force_login(world.outsider)
    page = client.get("/console/").content.decode()
    assert "globex secret pipeline" in page and "tenant=acme" not in page


def test_admins_see_everyones_keys_in_the_report_but_only_their_own_in_the_table(world, client):
    from django.utils import timezone

    others = _key(world, name="developer's soon")
    APIKey.objects.filter(pk=others.pk).update(expires_at=timezone.now() + timezone.timedelta(days=2))
    client.force_login(world.user(Role.ADMIN))
    page = client.get("/console/").content.decode()
    report = page[page.index('id="key-report"') :]
    table = page[page.index('id="console-keys"') : page.index('id="key-report"')]
    assert "developer&#x27;s soon" in report and "developer@acme.test" in report
    assert others.prefix not in table


def test_the_console_needs_a_sign_in_and_welcomes_users_without_tenants(db, client):
    from tests.factories import UserFactory

    assert client.get("/console/")["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory(email="new@example.org"))
    page = client.get("/console/").content.decode()
    assert "not a member of any tenant" in page and 'id="api-changelog"' in page


def test_the_schema_offers_the_bearer_key_scheme_and_the_new_actions(world, client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pk_<lookup>_<secret>",
        "description": "An API key created in the portal: `Authorization: Bearer pk_…`.",
    }
    rotate = schema["paths"]["/api/v1/api-keys/{id}/rotate/"]["post"]
    assert "Idempotency-Key" in [parameter["name"] for parameter in rotate["parameters"]]
    assert "201" in rotate["responses"] and "/api/v1/api-keys/report/" in schema["paths"]


def test_try_it_out_in_the_docs_works_with_the_session_and_its_csrf_token(world):
    """The Swagger UI script sends the CSRF token on writes made with the session; without it Django refuses."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.user(Role.DEVELOPER))
    assert browser.get("/api/docs/").status_code == 200
    script = browser.get("/api/docs/?script=").content.decode()
    header, token = re.search(r'"same-origin"\) \{\s*request\.headers\["([^"]+)"\] = "([^"]+)"', script).groups()
    assert header.lower() == "x-csrftoken"
    body = {"tenant": "acme", "name": "from the docs", "scopes": ["apps:read"]}
    refused = browser.post("/api/v1/api-keys/", body, content_type="application/json")
    assert refused.status_code == 403 and not APIKey.objects.filter(name="from the docs").exists()
    created = browser.post("/api/v1/api-keys/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201 and created.json()["key"].startswith("pk_")
