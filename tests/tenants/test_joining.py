"""Joining by invitation without hunting for the email: invitations to a verified address show on
the home page and in the header and are accepted there; the verification page sends its link again,
within allauth's rate limit."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from apps.accounts.views import RESENT, TOO_SOON
from apps.tenants.models import Membership
from apps.tenants.roles import Role
from tests.factories import InvitationFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return TenantFactory(slug="acme", name="Acme Corp")


@pytest.fixture
def newcomer(db):
    return UserFactory(email="new@example.com")


def test_a_pending_invitation_shows_on_home_and_in_the_header(client, acme, newcomer):
    invitation = InvitationFactory(tenant=acme, email="new@example.com", role=Role.DEVELOPER)
    client.force_login(newcomer)
    page = client.get("/").content.decode()
    assert 'id="pending-invitations"' in page and "Join Acme Corp" in page
    assert "invites you as <strong>developer</strong>" in page
    assert 'id="invitations-badge"' in page
    assert f'action="/invitations/pending/{invitation.pk}/accept/"' in page
    other = client.get("/account/profile/").content.decode()  # the header shows it on every page
    assert 'id="invitations-badge"' in other


def test_accepting_from_the_home_page_makes_a_member(client, acme, newcomer):
    invitation = InvitationFactory(tenant=acme, email="new@example.com", role=Role.DEVELOPER)
    client.force_login(newcomer)
    response = client.post(f"/invitations/pending/{invitation.pk}/accept/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    assert Membership.objects.get(user=newcomer, tenant=acme).role == Role.DEVELOPER
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer
    page = client.get("/").content.decode()
    assert 'id="pending-invitations"' not in page and 'id="invitations-badge"' not in page


def test_only_verified_addresses_open_invitations(client, acme, newcomer):
    unverified = InvitationFactory(tenant=acme, email="second@example.com")
    EmailAddress.objects.create(user=newcomer, email="second@example.com", verified=False)
    someone_elses = InvitationFactory(tenant=TenantFactory(slug="globex"), email="other@example.com")
    expired = InvitationFactory(tenant=acme, email="new@example.com", expires_at=timezone.now() - timedelta(days=1))
    client.force_login(newcomer)
    assert 'id="pending-invitations"' not in client.get("/").content.decode()
    for invitation in (unverified, someone_elses, expired):
        response = client.post(f"/invitations/pending/{invitation.pk}/accept/", follow=True)
        assert "This invitation is not open for you any more." in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_invitation_to_a_tenant_one_is_in_already_is_not_shown(client, acme, newcomer):
    MembershipFactory(tenant=acme, user=newcomer, role=Role.VIEWER)
    InvitationFactory(tenant=acme, email="new@example.com")
    client.force_login(newcomer)
    assert 'id="pending-invitations"' not in client.get("/").content.decode()


def test_the_verification_page_resends_within_the_rate_limit(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "fresh@example.com", "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42"},
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    page = client.get(response["Location"]).content.decode()
    assert 'id="resend-verification"' in page and 'value="fresh@example.com"' in page  # prefilled

    # The sign-up mail counts against allauth's confirm_email limit (one per address per 3 minutes).
    response = client.post("/account/verification/resend/", {"email": "fresh@example.com"}, follow=True)
    assert TOO_SOON.format(email="fresh@example.com") in response.content.decode()
    assert len(mail.outbox) == 1


def test_a_resend_after_the_limit_sends_a_new_link(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "confirm_email": "2/3m/key"}
    client.post(
        "/accounts/signup/",
        {"email": "fresh@example.com", "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42"},
    )
    response = client.post("/account/verification/resend/", {"email": "Fresh@Example.com"}, follow=True)
    assert RESENT.format(email="fresh@example.com") in response.content.decode()
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["fresh@example.com"]
    assert "/accounts/confirm-email/" in mail.outbox[1].body
    # A third within three minutes is refused, and an unknown address reads the same as a known one.
    response = client.post("/account/verification/resend/", {"email": "fresh@example.com"}, follow=True)
    assert TOO_SOON.format(email="fresh@example.com") in response.content.decode()
    response = client.post("/account/verification/resend/", {"email": "nobody@example.com"}, follow=True)
    assert RESENT.format(email="nobody@example.com") in response.content.decode()
    assert len(mail.outbox) == 2


def test_nobody_joins_a_suspended_tenant_by_an_invitation_sent_before(client, api, acme, newcomer):
    """An invitation sent before the suspension waits for its end: the link's page says so, and the link,
    the home page and the API all refuse it, joining no one."""
    by_link = InvitationFactory(tenant=acme, email="new@example.com", role=Role.ADMIN, token="tok-susp")
    acme.status = acme.Status.SUSPENDED
    acme.save(update_fields=["status"])
    client.force_login(newcomer)
    shown = client.get("/invitations/tok-susp/")
    assert shown.status_code == 403 and "Acme Corp is suspended" in shown.content.decode()
    assert client.post("/invitations/tok-susp/").status_code == 403
    home = client.post(f"/invitations/pending/{by_link.pk}/accept/", follow=True).content.decode()
    assert "Acme Corp is suspended" in home
    answer = api.as_user(newcomer).post("/api/v1/invitations/accept/", {"token": "tok-susp"}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "tenant_suspended"
    by_link.refresh_from_db()
    assert not Membership.objects.filter(user=newcomer).exists() and by_link.accepted_at is None
    acme.status = acme.Status.ACTIVE  # reactivated: the same link works
    acme.save(update_fields=["status"])
    assert client.post("/invitations/tok-susp/").status_code == 302
    assert Membership.objects.get(user=newcomer, tenant=acme).role == Role.ADMIN
