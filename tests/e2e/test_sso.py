"""Single sign-on against a real OpenID Connect provider (django-oidc-provider, started as its own
process with its own users and groups): signing in through it in Chromium, its groups becoming tenant
roles at each login and going away with the group, and password sign-in switched off for its domain."""

import copy
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from apps.audit.models import AuditEvent
from apps.tenants.models import Membership
from apps.tenants.roles import Role
from apps.tenants.sso import GroupRole, group_roles, roles_for
from tests.conftest import BASE_DIR, free_port, wait_until_answers

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_ID, CLIENT_SECRET = "portal", "portal-client-secret"


@dataclass
class IdP:
    url: str  # the issuer; discovery lives under it
    env: dict

    def run(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "tests.accounts.idp.manage_idp", *args], cwd=BASE_DIR, env=self.env, check=True
        )


@pytest.fixture
def idp(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.accounts.idp.settings",
        "IDP_DATABASE": str(tmp_path / "idp.sqlite3"),
    }
    for command in (["migrate", "-v0"], ["creatersakey"]):
        subprocess.run([sys.executable, "-m", "django", *command], cwd=BASE_DIR, env=env, check=True)
    port = free_port()
    with open(tmp_path / "idp.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    issuer = f"http://127.0.0.1:{port}/openid"
    wait_until_answers(f"{issuer}/.well-known/openid-configuration", timeout=60)
    yield IdP(issuer, env)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def sso(settings, idp, asgi_server):
    """The portal configured for the IdP as an operator would by environment."""
    idp.run("client", CLIENT_ID, CLIENT_SECRET, f"{asgi_server}/accounts/oidc/sso/login/callback/")
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "VERIFIED_EMAIL": True,
            "SCOPE": ["openid", "profile", "email", "groups"],
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Company SSO",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": idp.url, "oauth_pkce_enabled": True},
                }
            ],
        }
    }
    csp = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    csp["DIRECTIVES"]["form-action"].append(idp.url.rsplit("/", 1)[0])  # what SSO_SERVER_URL adds
    settings.CONTENT_SECURITY_POLICY = csp
    settings.SSO_NAME = "Company SSO"
    settings.SSO_GROUP_ROLES = "acme-admins=acme/admin, acme-devs=acme/developer, globex-viewers=globex/viewer"
    settings.SSO_ONLY_DOMAINS = ["corp.example"]
    return idp


def sign_in_through_the_idp(page, server, username=None):
    page.goto(f"{server}/accounts/login/")
    page.get_by_role("link", name="Company SSO").click()
    page.get_by_role("button", name="Continue").click()
    if username:  # the IdP remembers who signed in to it; a second login goes straight back
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("idp-password-1")
        page.get_by_role("button", name="Sign in to the company").click()
    expect(page).to_have_url(f"{server}/")


def sso_roles(email):
    return dict(
        Membership.objects.filter(user__email=email, source=Membership.Source.SSO).values_list("tenant__slug", "role")
    )


@pytest.mark.e2e
def test_idp_groups_become_roles_at_each_login_and_go_away_with_the_group(page, world, sso, asgi_server):
    sso.run("user", "maria", "maria@corp.example", "idp-password-1", "acme-admins", "acme-devs", "staff")

    sign_in_through_the_idp(page, asgi_server, username="maria")
    assert sso_roles("maria@corp.example") == {"acme": Role.ADMIN}, "the highest mapped role; unmapped groups ignored"
    page.goto(f"{asgi_server}/t/acme/")
    expect(page.locator("body")).to_contain_text("Acme")

    sso.run("groups", "maria", "acme-devs", "globex-viewers")
    page.context.clear_cookies()
    sign_in_through_the_idp(page, asgi_server, username="maria")
    assert sso_roles("maria@corp.example") == {"acme": Role.DEVELOPER, "globex": Role.VIEWER}

    sso.run("groups", "maria")
    page.goto(f"{asgi_server}/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()
    sign_in_through_the_idp(page, asgi_server)  # still signed in at the IdP: straight back
    assert sso_roles("maria@corp.example") == {}
    assert page.goto(f"{asgi_server}/t/acme/").status == 404
    actions = list(AuditEvent.objects.filter(action__startswith="member.sso").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["member.sso_add", "member.sso_change_role", "member.sso_add", "member.sso_remove", "member.sso_remove"]
    )


@pytest.mark.e2e
def test_a_role_granted_by_a_person_is_left_alone_by_logins(page, world, sso, asgi_server):
    owner = world.user("owner")  # owner@acme.test: an acme owner by hand, and in no IdP group
    sso.run("user", "olive", owner.email, "idp-password-1", "globex-viewers")
    sign_in_through_the_idp(page, asgi_server, username="olive")
    assert Membership.objects.get(user=owner, tenant__slug="acme").role == Role.OWNER
    assert sso_roles(owner.email) == {"globex": Role.VIEWER}


def test_passwords_are_off_for_the_sso_domain_and_on_for_others(client, settings, world, password):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"APPS": [{"provider_id": "sso", "name": "Company SSO", "client_id": "c", "secret": "s"}]}
    }
    settings.SSO_ONLY_DOMAINS = ["corp.example"]
    settings.SSO_NAME = "Company SSO"
    refused = client.post("/accounts/login/", {"login": "maria@corp.example", "password": password})
    assert "People at corp.example sign in with Company SSO" in refused.content.decode()
    signup = client.post(
        "/accounts/signup/", {"email": "new@corp.example", "password1": "A-long-pass-99", "password2": "A-long-pass-99"}
    )
    assert "People at corp.example sign in with Company SSO" in signup.content.decode()
    allowed = client.post("/accounts/login/", {"login": world.user("developer").email, "password": password})
    assert allowed.status_code == 302


def test_the_group_mapping_is_read_strictly():
    assert group_roles("a=acme/admin, b = globex/viewer") == [
        GroupRole("a", "acme", "admin"),
        GroupRole("b", "globex", "viewer"),
    ]
    assert roles_for(["a", "c"], group_roles("a=acme/viewer,c=acme/owner")) == {"acme": "owner"}
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        group_roles("a=acme/superuser")


@pytest.mark.e2e
def test_an_operator_sets_up_the_idp_in_the_console_and_people_sign_in_through_it(page, world, idp, asgi_server):
    from tests.e2e.test_deploy_journey import sign_in

    idp.run("client", CLIENT_ID, CLIENT_SECRET, f"{asgi_server}/accounts/oidc/sso/login/callback/")
    idp.run("user", "maria", "maria@corp.example", "idp-password-1", "acme-devs")
    sign_in(page, asgi_server, world.operator.email)
    page.goto(f"{asgi_server}/operator/sso/")
    page.get_by_label("Offer sign-in through this provider").check()
    page.get_by_label("Name").fill("Company SSO")
    page.get_by_label("Issuer URL").fill(idp.url)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Groups → roles").fill("acme-devs=acme/developer")
    page.get_by_label("Sign in only through the provider").fill("corp.example")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("Single sign-on saved.")
    expect(page.locator("#sso-state")).to_have_text("Sign-in through Company SSO is on")

    page.context.clear_cookies()
    sign_in_through_the_idp(page, asgi_server, username="maria")
    assert sso_roles("maria@corp.example") == {"acme": Role.DEVELOPER}
    # Without a password of ours, her step-up is a code mailed to the address the IdP vouched for.
    from allauth.account.adapter import get_adapter
    from django.contrib.auth import get_user_model

    maria = get_user_model().objects.get(email="maria@corp.example")
    assert not maria.has_usable_password()
    assert [m["id"] for m in get_adapter().get_reauthentication_methods(maria)] == ["reauthenticate_by_code"]
