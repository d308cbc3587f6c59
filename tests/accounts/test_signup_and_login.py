"""Sign-up with email verification, login, logout, password change and reset."""

import re

import pytest
from django.core import mail

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-better-passphrase-42"


def confirmation_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/\S+)", message.body).group(1)


def test_signup_requires_email_verification_before_login(client):
    response = client.post(
        "/accounts/signup/", {"email": "New.Person@Example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="new.person@example.com")
    assert not user.emailaddress_set.get().verified

    assert len(mail.outbox) == 1
    link = confirmation_link(mail.outbox[0])
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert user.emailaddress_set.get().verified

    response = client.post("/accounts/login/", {"login": "new.person@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_before_verification_is_held_back(client):
    client.post(
        "/accounts/signup/", {"email": "late@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    client.logout()
    response = client.post("/accounts/login/", {"login": "late@example.com", "password": NEW_PASSWORD})
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302


def test_wrong_password_shows_a_clear_message(client, developer):
    response = client.post("/accounts/login/", {"login": developer.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()


def test_failed_logins_are_rate_limited(client, developer, password):
    for _ in range(5):
        client.post("/accounts/login/", {"login": developer.email, "password": "wrong-password"})
    # Even the right password is refused while the limit holds.
    response = client.post("/accounts/login/", {"login": developer.email, "password": password})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()


def test_expired_or_bogus_confirmation_link_says_so(client):
    response = client.get("/accounts/confirm-email/not-a-real-key/")
    assert response.status_code == 200
    assert "expired or is invalid" in response.content.decode()


def test_logout_ends_the_session(client, developer):
    client.force_login(developer)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_password_change(client, developer, password):
    client.force_login(developer)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    developer.refresh_from_db()
    assert developer.check_password(NEW_PASSWORD)


def test_password_reset_by_email(client, developer):
    client.post("/accounts/password/reset/", {"email": developer.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    developer.refresh_from_db()
    assert developer.check_password(NEW_PASSWORD)


def test_used_password_reset_link_is_refused(client, developer):
    client.post("/accounts/password/reset/", {"email": developer.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    page = client.get(link, follow=True).content.decode()
    assert "Bad Token" in page or "invalid" in page.lower()


def test_sessions_page_lists_the_current_session(client, developer, password):
    client.defaults["HTTP_USER_AGENT"] = "PortalTest/1.0"
    client.post("/accounts/login/", {"login": developer.email, "password": password})
    page = client.get("/accounts/sessions/").content.decode()
    assert "PortalTest/1.0" in page
    assert "Current" in page


def test_profile_can_be_edited(client, developer):
    client.force_login(developer)
    response = client.post("/account/profile/", {"full_name": "Dana Q. Developer"})
    assert response.status_code == 302
    developer.refresh_from_db()
    assert developer.full_name == "Dana Q. Developer"


def test_email_is_unique_whatever_its_case(client, developer):
    client.post(
        "/accounts/signup/", {"email": developer.email.upper(), "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert User.objects.filter(email__iexact=developer.email).count() == 1
