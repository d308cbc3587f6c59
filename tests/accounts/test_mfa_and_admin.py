"""TOTP enrolment, login with a code, code reuse, recovery codes, and the admin behind allauth."""

import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def enrol_totp(client, password) -> str:
    """Activating TOTP asks for the password again first, as it would in the browser."""
    response = client.get("/accounts/2fa/totp/activate/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    client.post(response["Location"], {"password": password})
    response = client.get("/accounts/2fa/totp/activate/")
    secret = response.context["form"].secret
    # The clock stands still between making the code and the server checking it: on a busy machine the
    # request can otherwise cross into the next 30-second step, and the code is (rightly) refused.
    with time_machine.travel(time.time(), tick=False):
        response = client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert response.status_code == 302, response.content
    return secret


def login_with_password(client, user, password):
    return client.post("/accounts/login/", {"login": user.email, "password": password})


def test_totp_enrolment_then_login_needs_a_code(client, developer, password):
    login_with_password(client, developer, password)
    secret = enrol_totp(client, password)
    assert Authenticator.objects.filter(user=developer, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=developer, type=Authenticator.Type.RECOVERY_CODES).exists()
    client.post("/accounts/logout/")

    response = login_with_password(client, developer, password)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not signed in until the code is given

    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_totp_code_is_refused_with_a_message(client, developer, password):
    login_with_password(client, developer, password)
    enrol_totp(client, password)
    client.post("/accounts/logout/")
    login_with_password(client, developer, password)
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()


def test_a_totp_code_cannot_be_used_twice(client, developer, password):
    login_with_password(client, developer, password)
    secret = enrol_totp(client, password)
    client.post("/accounts/logout/")
    login_with_password(client, developer, password)
    code = current_code(secret)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    login_with_password(client, developer, password)
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()


def test_recovery_code_signs_in_once(client, developer, password):
    login_with_password(client, developer, password)
    enrol_totp(client, password)
    codes = Authenticator.objects.get(user=developer, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    client.post("/accounts/logout/")
    login_with_password(client, developer, password)
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    client.post("/accounts/logout/")
    login_with_password(client, developer, password)
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200


def test_admin_login_goes_through_allauth(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_admin_is_for_staff_only(client, developer, operator):
    client.force_login(developer)
    assert client.get("/admin/").status_code in (302, 403)
    assert client.get("/admin/login/").status_code == 403
    client.force_login(operator)
    assert client.get("/admin/").status_code == 200
