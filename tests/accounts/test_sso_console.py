"""Single sign-on configured by operators in the console: what the page refuses, what it keeps (the
client secret encrypted, never in the audit trail), and that the environment's settings win. Signing in
through a console-configured provider is proven against a real IdP in tests/e2e/test_sso.py."""

import pytest

from apps.accounts.adapters import sso_only
from apps.accounts.idp import CONSOLE, configuration
from apps.accounts.models import SingleSignOn
from apps.audit.models import AuditEvent
from apps.tenants.sso import SocialAccountAdapter

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Company SSO",
    "server_url": "",
    "client_id": "portal",
    "client_secret": "s3cret-from-the-idp",
    "groups_claim": "groups",
    "group_roles": "acme-admins=acme/admin\nacme-devs=acme/developer",
    "only_domains": "corp.example",
}


def test_only_operators_open_the_page(client, world):
    client.force_login(world.user("owner"))
    assert client.get("/operator/sso/").status_code == 404
    client.force_login(world.operator)
    page = client.get("/operator/sso/")
    assert page.status_code == 200 and "/accounts/oidc/sso/login/callback/" in page.content.decode()


def test_bad_input_is_refused_naming_each_field_and_nothing_is_saved(client, world):
    client.force_login(world.operator)
    response = client.post(
        "/operator/sso/",
        {
            **FORM,
            "enabled": "on",
            "client_id": "",
            "group_roles": "acme-admins=acme/king",
            "only_domains": "not a domain!",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"group_roles", "only_domains", "client_id", "server_url"}, errors
    assert "acme-admins=acme/king" in errors["group_roles"][0]
    assert not SingleSignOn.objects.exists()


def test_an_issuer_without_a_discovery_document_is_refused_when_sign_in_is_on(client, world):
    client.force_login(world.operator)
    response = client.post("/operator/sso/", {**FORM, "enabled": "on", "server_url": "http://127.0.0.1:9/realms/x"})
    assert response.status_code == 400
    assert "discovery document" in response.context["form"].errors["server_url"][0]
    assert configuration().source == ""


def test_the_secret_is_encrypted_kept_when_left_empty_and_never_audited(client, world):
    client.force_login(world.operator)
    assert client.post("/operator/sso/", FORM).status_code == 302  # saved while off: no discovery needed
    row = SingleSignOn.objects.get()
    assert row.client_secret == "s3cret-from-the-idp" and "s3cret" not in row.client_secret_encrypted
    assert client.post("/operator/sso/", {**FORM, "client_secret": "", "name": "Corp"}).status_code == 302
    row.refresh_from_db()
    assert (row.name, row.client_secret) == ("Corp", "s3cret-from-the-idp")
    trail = list(AuditEvent.objects.filter(action="sso.configure").order_by("pk").values_list("changes", flat=True))
    assert len(trail) == 2 and "s3cret" not in str(trail)
    assert trail[1] == {"name": ["Company SSO", "Corp"]}


def test_the_console_provider_is_what_allauth_and_the_password_check_see_once_enabled(world):
    SingleSignOn.objects.create(pk=SingleSignOn.ROW, name="Corp", server_url="https://sso.corp.example/realms/c")
    assert configuration().source == "" and not sso_only("maria@corp.example")
    row = SingleSignOn.objects.get()
    row.enabled, row.client_id, row.only_domains, row.client_secret = True, "portal", "corp.example", "x"
    row.save()
    config = configuration()
    assert (config.source, config.origin, config.only_domains) == (
        CONSOLE,
        "https://sso.corp.example",
        ("corp.example",),
    )
    assert sso_only("Maria@Corp.Example") and not sso_only("maria@elsewhere.example")
    [app] = [app for app in SocialAccountAdapter().list_apps(None) if app.provider_id == "sso"]
    assert (app.client_id, app.secret, app.settings["server_url"]) == ("portal", "x", row.server_url)


def test_the_console_provider_is_allowed_as_a_form_action_on_the_account_pages_only(client, world):
    SingleSignOn.objects.create(
        pk=SingleSignOn.ROW, enabled=True, name="Corp", server_url="https://sso.corp.example/realms/c", client_id="p"
    )
    login = client.get("/accounts/login/")
    assert "https://sso.corp.example" in login["Content-Security-Policy"]
    assert "Corp" in login.content.decode()
    client.force_login(world.user("owner"))
    assert "sso.corp.example" not in client.get("/t/acme/")["Content-Security-Policy"]


def test_where_the_environment_configures_a_provider_the_page_only_shows_it(client, world, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"APPS": [{"provider_id": "sso", "name": "Env", "client_id": "c", "secret": "s"}]}
    }
    settings.SSO_NAME = "Env SSO"
    client.force_login(world.operator)
    page = client.get("/operator/sso/").content.decode()
    assert "set by its environment" in page and "Env SSO" in page and 'name="client_secret"' not in page
    assert client.post("/operator/sso/", FORM).status_code == 200
    assert not SingleSignOn.objects.exists()
