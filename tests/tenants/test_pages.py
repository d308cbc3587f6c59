"""The tenant pages: who sees what, and every change going through its service with its refusals shown."""

import copy
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.tenants.models import Environment, Membership, Tenant
from apps.tenants.roles import Role
from tests.factories import (
    EnvironmentFactory,
    InvitationFactory,
    MembershipFactory,
    QuotaFactory,
    TenantFactory,
    UserFactory,
)

# --- Personas: acme with one member per role, and an outsider who belongs to globex only -------


def _member(tenant, role):
    return MembershipFactory(tenant=tenant, role=role, user__email=f"{role}@{tenant.slug}.test").user


@pytest.fixture
def acme(db):
    tenant = TenantFactory(slug="acme", name="Acme Corp")
    EnvironmentFactory(tenant=tenant, name="dev")
    EnvironmentFactory(tenant=tenant, name="prod", kind=Environment.Kind.PRODUCTION)
    return tenant


@pytest.fixture
def owner(acme):
    return _member(acme, Role.OWNER)


@pytest.fixture
def admin(acme):
    return _member(acme, Role.ADMIN)


@pytest.fixture
def developer(acme):
    return _member(acme, Role.DEVELOPER)


@pytest.fixture
def viewer(acme):
    return _member(acme, Role.VIEWER)


@pytest.fixture
def outsider(db):
    return _member(TenantFactory(slug="globex", name="Globex"), Role.OWNER)


def _page(response) -> str:
    return response.content.decode()


# --- Home, switcher, creating a tenant ----------------------------------------------------------


def test_home_lists_the_users_tenants_as_cards(client, developer, outsider):
    client.force_login(developer)
    page = _page(client.get("/"))
    assert 'href="/t/acme/"' in page and "Acme Corp" in page
    assert "Globex" not in page
    assert 'id="tenant-empty"' not in page


def test_home_without_tenants_offers_to_create_one(client, db):
    client.force_login(UserFactory())
    page = _page(client.get("/"))
    assert 'id="tenant-empty"' in page and 'href="/tenants/new/"' in page


def test_header_switcher_lists_tenants_and_highlights_the_current_one(client, settings, developer):
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"].append("apps.tenants.context_processors.tenants")
    settings.TEMPLATES = templates
    MembershipFactory(user=developer, tenant=TenantFactory(name="Initech"))
    client.force_login(developer)
    page = _page(client.get("/t/acme/"))
    switcher = page[page.index('id="tenant-switcher"') : page.index("Create an organization")]
    assert "Acme Corp" in switcher and "Initech" in switcher
    assert re.search(r'active"\s+href="/t/acme/" aria-current="true"', switcher)


def test_creating_a_tenant_makes_you_its_owner(client, developer):
    client.force_login(developer)
    response = client.post("/tenants/new/", {"name": "New Co", "slug": "newco"})
    assert response.status_code == 302 and response["Location"] == "/t/newco/"
    tenant = Tenant.objects.get(slug="newco")
    assert Membership.objects.get(tenant=tenant, user=developer).role == Role.OWNER
    assert "New Co is ready" in _page(client.get("/t/newco/"))


def test_a_taken_slug_is_a_field_error(client, developer, outsider):
    client.force_login(developer)
    response = client.post("/tenants/new/", {"name": "Copycat", "slug": "globex"})
    assert response.status_code == 400
    assert "is-invalid" in _page(response) and "The slug “globex” is taken." in _page(response)


# --- Who sees what ------------------------------------------------------------------------------


def _get_urls(acme):
    env = acme.environments.first()
    return [
        "/t/acme/",
        "/t/acme/members/",
        "/t/acme/environments/",
        f"/t/acme/environments/{env.pk}/",
        f"/t/acme/environments/{env.pk}/delete/",
        "/t/acme/quotas/",
        "/t/acme/keys/",
        "/t/acme/audit/",
    ]


def _post_urls(acme, owner):
    membership = Membership.objects.get(tenant=acme, user=owner)
    invitation = InvitationFactory(tenant=acme, invited_by=owner)
    env = acme.environments.first()
    return [
        "/t/acme/members/invite/",
        "/t/acme/members/leave/",
        f"/t/acme/members/{membership.pk}/role/",
        f"/t/acme/members/{membership.pk}/remove/",
        f"/t/acme/invitations/{invitation.pk}/revoke/",
        "/t/acme/environments/",
        f"/t/acme/environments/{env.pk}/",
        f"/t/acme/environments/{env.pk}/delete/",
        "/t/acme/keys/",
    ]


def test_a_viewer_sees_the_read_pages(client, viewer):
    client.force_login(viewer)
    for url in ["/t/acme/", "/t/acme/members/", "/t/acme/environments/", "/t/acme/quotas/", "/t/acme/keys/"]:
        assert client.get(url).status_code == 200, url


def test_an_outsider_gets_404_on_every_tenant_page(client, acme, owner, outsider):
    client.force_login(outsider)
    for url in _get_urls(acme):
        assert client.get(url).status_code == 404, url
    for url in _post_urls(acme, owner):
        assert client.post(url, {"role": "viewer", "email": "x@example.com", "name": "x"}).status_code == 404, url
    assert Membership.objects.filter(tenant=acme, user=owner).exists()


def test_anonymous_is_sent_to_sign_in(client, acme):
    response = client.get("/t/acme/members/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/t/acme/members/")


def test_overview_shows_role_environments_members_and_quotas(client, developer, acme):
    QuotaFactory(tenant=acme, limit=5)
    client.force_login(developer)
    page = _page(client.get("/t/acme/"))
    assert 'id="your-role">Developer<' in page
    assert "<code>acme--prod</code>" in page and "Production" in page
    assert 'id="member-count">1<' in page
    assert "API keys" in page and "0 / 5" in page
    assert "Audit trail" not in page  # owners and admins only


def test_viewer_sees_no_write_forms(client, viewer, owner, acme):
    client.force_login(viewer)
    members = _page(client.get("/t/acme/members/"))
    assert 'id="invite"' not in members and "Pending invitations" not in members
    assert "/role/" not in members and "/remove/" not in members
    environments = _page(client.get("/t/acme/environments/"))
    assert 'id="add-environment"' not in environments and "/delete/" not in environments
    env = acme.environments.get(name="dev")
    assert 'name="kind"' not in _page(client.get(f"/t/acme/environments/{env.pk}/"))
    assert "Yes, delete" not in _page(client.get(f"/t/acme/environments/{env.pk}/delete/"))


def test_a_viewers_write_is_refused_with_a_message(client, viewer, acme):
    client.force_login(viewer)
    response = client.post("/t/acme/environments/", {"name": "qa", "kind": "non_production"})
    assert response.status_code == 400
    assert "You do not have permission to do that." in _page(response)
    assert not acme.environments.filter(name="qa").exists()


# --- Members and invitations --------------------------------------------------------------------


def _link(message) -> str:
    return re.search(r"https?://\S+/invitations/(\S+)/", message.body).group(0)


def test_invite_then_accept_makes_a_member(client, admin, acme, django_capture_on_commit_callbacks):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/members/invite/", {"email": "Newbie@Example.com", "role": "developer"})
    assert response.status_code == 302
    assert "Invitation sent to newbie@example.com." in _page(client.get(response["Location"]))
    [message] = mail.outbox
    assert message.to == ["newbie@example.com"] and "Acme Corp" in message.subject
    path = "/" + _link(message).split("/", 3)[3]

    client.force_login(UserFactory(email="newbie@example.com"))
    page = _page(client.get(path))
    assert "Join Acme Corp" in page and 'id="invitation-role">Developer<' in page
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    assert Membership.objects.get(tenant=acme, user__email="newbie@example.com").role == Role.DEVELOPER


def test_invitation_link_sends_strangers_to_sign_in_first(client, acme, owner):
    InvitationFactory(tenant=acme, invited_by=owner, token="tok-123")
    response = client.get("/invitations/tok-123/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/invitations/tok-123/"


def test_expired_invitation_says_so(client, acme, owner):
    invitee = UserFactory(email="late@example.com")
    InvitationFactory(
        tenant=acme,
        invited_by=owner,
        email=invitee.email,
        token="tok-old",
        expires_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(invitee)
    response = client.get("/invitations/tok-old/")
    assert response.status_code == 410
    assert "This invitation has expired; ask for a new one." in _page(response)
    response = client.post("/invitations/tok-old/")
    assert response.status_code == 410 and "has expired" in _page(response)
    assert not Membership.objects.filter(user=invitee).exists()


def test_invitation_for_someone_else_and_unknown_links_are_explained(client, acme, owner, developer):
    InvitationFactory(tenant=acme, invited_by=owner, email="someone@example.com", token="tok-other")
    client.force_login(developer)
    response = client.get("/invitations/tok-other/")
    assert response.status_code == 403 and "This invitation is for someone@example.com" in _page(response)
    response = client.get("/invitations/no-such-token/")
    assert response.status_code == 404 and "This invitation link is not valid." in _page(response)


def test_invite_errors_are_field_errors(client, admin, developer):
    client.force_login(admin)
    response = client.post("/t/acme/members/invite/", {"email": "not-an-email", "role": "viewer"})
    assert response.status_code == 400 and "Enter a valid email address." in _page(response)
    response = client.post("/t/acme/members/invite/", {"email": developer.email, "role": "viewer"})
    assert response.status_code == 400 and f"{developer.email} is already a member." in _page(response)
    assert len(mail.outbox) == 0


def test_admins_are_not_offered_the_owner_role(client, admin, owner):
    client.force_login(admin)
    page = _page(client.get("/t/acme/members/"))
    invite_form = page[page.index('id="invite"') :]
    assert '<option value="admin"' in invite_form and '<option value="owner"' not in invite_form


def test_owner_changes_a_role_and_removes_a_member(client, owner, developer, acme):
    client.force_login(owner)
    membership = Membership.objects.get(user=developer)
    response = client.post(f"/t/acme/members/{membership.pk}/role/", {"role": "admin"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    response = client.post(f"/t/acme/members/{membership.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_cannot_step_down_or_leave(client, owner, acme):
    client.force_login(owner)
    membership = Membership.objects.get(user=owner)
    response = client.post(f"/t/acme/members/{membership.pk}/role/", {"role": "viewer"})
    assert response.status_code == 400
    assert "A tenant needs at least one owner" in _page(response)
    response = client.post("/t/acme/members/leave/")
    assert response.status_code == 400
    assert "The last owner cannot leave or be removed" in _page(response)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_a_member_can_leave(client, developer, acme):
    client.force_login(developer)
    response = client.post("/t/acme/members/leave/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/t/acme/").status_code == 404


def test_revoking_an_invitation(client, admin, acme):
    invitation = InvitationFactory(tenant=acme, invited_by=admin, email="maybe@example.com")
    client.force_login(admin)
    assert "maybe@example.com" in _page(client.get("/t/acme/members/"))
    response = client.post(f"/t/acme/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "maybe@example.com" not in _page(client.get("/t/acme/members/")).split("Pending invitations")[1]


# --- Environments and quotas --------------------------------------------------------------------


def test_admin_adds_renames_and_deletes_an_environment(client, admin, acme):
    client.force_login(admin)
    assert client.post("/t/acme/environments/", {"name": "qa", "kind": "non_production"}).status_code == 302
    qa = Environment.objects.get(tenant=acme, name="qa")
    assert qa.namespace == "acme--qa"

    response = client.post(f"/t/acme/environments/{qa.pk}/", {"name": "uat", "kind": "production"})
    assert response.status_code == 302
    qa.refresh_from_db()
    assert (qa.name, qa.kind, qa.namespace) == ("uat", "production", "acme--qa")

    page = _page(client.get(f"/t/acme/environments/{qa.pk}/delete/"))
    assert "Yes, delete uat" in page
    assert Environment.objects.filter(pk=qa.pk).exists()
    assert client.post(f"/t/acme/environments/{qa.pk}/delete/").status_code == 302
    assert not Environment.objects.filter(pk=qa.pk).exists()


def test_environment_name_clash_is_a_field_error(client, admin, acme):
    client.force_login(admin)
    dev = acme.environments.get(name="dev")
    response = client.post(f"/t/acme/environments/{dev.pk}/", {"name": "prod", "kind": "non_production"})
    assert response.status_code == 400
    page = _page(response)
    assert "There is already an environment called “prod”." in page and "Edit environment dev" in page


def test_quotas_show_usage_bars(client, viewer, acme):
    QuotaFactory(tenant=acme, resource="api_keys", limit=4)
    QuotaFactory(tenant=acme, resource="cpu", limit=2000, environment=acme.environments.get(name="prod"))
    client.force_login(viewer)
    page = _page(client.get("/t/acme/quotas/"))
    assert "progress-bar pct-0" in page
    assert "prod" in page and "2000" in page
    assert "not counted yet" not in page  # every quota resource has a counter now
    assert "style=" not in page


def test_a_suspended_tenant_is_read_only(client, admin, acme):
    acme.status = Tenant.Status.SUSPENDED
    acme.save()
    client.force_login(admin)
    page = _page(client.get("/t/acme/environments/"))
    assert 'id="suspended-banner"' in page and 'id="add-environment"' not in page
    response = client.post("/t/acme/environments/", {"name": "qa", "kind": "non_production"})
    assert response.status_code == 400 and "This tenant is suspended and read-only" in _page(response)
    assert not acme.environments.filter(name="qa").exists()
