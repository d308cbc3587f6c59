"""A newcomer's first visit, in a real browser: sign up, verify, sign in, go live, enrol TOTP, sign in with a code."""

import re
import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

EMAIL = "newcomer@example.com"
PASSWORD = "a-long-and-lovely-passphrase"


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in(page, server):
    page.goto(f"{server}/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_signup_verify_login_live_and_totp(page, asgi_server):
    server = asgi_server

    # Sign up; the portal asks to verify the address before anything else.
    page.goto(f"{server}/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    # The verification mail carries the link; following it and confirming verifies the address.
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[0].body).group(1)
    page.goto(f"{server}{link}")
    page.get_by_role("button", name="Confirm").click()

    # Sign in; the live indicator in the header connects over the WebSocket.
    sign_in(page, server)
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    indicator = page.locator("#live-indicator")
    expect(indicator).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(indicator).to_contain_text("connected")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)

    # Enrol TOTP: the portal asks for the password again, then shows the QR code and secret.
    page.get_by_role("button", name=EMAIL).click()
    page.locator(".dropdown-menu").get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Activate").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.screenshot(path=str(ARTIFACTS / "totp-activate.png"), full_page=True)
    page.get_by_label("Authenticator code").fill(totp_now(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Authenticator app activated.")).to_be_visible()

    # Sign out, then back in: the password alone is not enough any more.
    page.get_by_role("button", name=EMAIL).click()
    page.locator(".dropdown-menu").get_by_role("button", name="Sign out").click()
    sign_in(page, server)
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    page.get_by_label("Code").fill(totp_now(secret))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "connected", timeout=10_000)
    assert page.console_errors == []
