"""The client's address can only be vouched for by TRUSTED_PROXIES (issue 12, item 7: with uvicorn trusting
X-Forwarded-For from anyone, a key limited to 10.9.9.9 passed with that header from elsewhere).

Over the real stack: uvicorn started with the image's own command line (deploy/Dockerfile) against the test
database, sent requests from 127.0.0.1 with chosen headers; and the one resolving function on its own."""

import pytest
import requests
from django.test import override_settings

from apps.apikeys.models import APIKey
from apps.audit.models import AuditEvent
from apps.core.client_ip import resolve
from tests.conftest import BASE_DIR, image_command

TENANTS = "/api/v1/tenants/"


@pytest.fixture
def portal(image_web):
    """Starts the portal the way the image runs it, with the given TRUSTED_PROXIES; returns its base URL."""
    return lambda trusted_proxies="": image_web(TRUSTED_PROXIES=trusted_proxies)


def get(base, key, forwarded_for=None):
    headers = {"Authorization": f"Bearer {key}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return requests.get(base + TENANTS, headers=headers, timeout=10)


# --- Over the real stack --------------------------------------------------------------------------


def test_the_image_leaves_the_peer_address_to_the_portal():
    command = image_command()
    assert "--no-proxy-headers" in command and "--proxy-headers" not in command
    manifest = (BASE_DIR / "deploy" / "kubernetes" / "web-deployment.yaml").read_text()
    assert "--no-proxy-headers" in manifest and '"--proxy-headers"' not in manifest
    assert "FORWARDED_ALLOW_IPS" not in (BASE_DIR / "deploy" / "kubernetes" / "configmap.yaml").read_text()


@pytest.mark.server
def test_without_trusted_proxies_a_forwarded_for_header_changes_nothing(world, portal):
    base = portal()
    key = world.key(allowed_ips=["10.9.9.9"])
    refused = get(base, key, "10.9.9.9")
    assert refused.status_code == 403 and refused.json()["code"] == "ip_not_allowed"
    assert "127.0.0.1" in refused.json()["detail"]

    open_key = world.key()
    assert get(base, open_key, "203.0.113.50").status_code == 200
    assert APIKey.objects.order_by("-pk").first().last_used_ip == "127.0.0.1"


@pytest.mark.server
def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(world, portal):
    base = portal("127.0.0.0/8, 10.0.0.0/24")
    key = world.key(allowed_ips=["10.9.9.9"])
    assert get(base, key, "10.9.9.9").status_code == 200  # the proxy vouches for 10.9.9.9
    assert get(base, key, "10.9.9.9, 10.0.0.7").status_code == 200  # through two proxies
    # The client wrote "10.9.9.9" itself; the proxy appended the address it really came from.
    spoofed = get(base, key, "10.9.9.9, 198.51.100.23")
    assert spoofed.status_code == 403 and "198.51.100.23" in spoofed.json()["detail"]

    response = requests.post(
        base + "/api/v1/environments/",
        json={"tenant": "acme", "name": "qa"},
        timeout=10,
        headers={"Authorization": f"Bearer {world.key()}", "X-Forwarded-For": "10.9.9.9, 198.51.100.24, 10.0.0.8"},
    )
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.filter(action__startswith="environment").latest("pk").ip == "198.51.100.24"


@pytest.mark.server
def test_failed_logins_are_limited_per_real_address_whatever_the_header_says(world, portal):
    base = portal()
    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=10)
    messages = []
    for attempt in range(12):
        response = session.post(
            base + "/accounts/login/",
            timeout=10,
            data={
                "login": f"nobody{attempt}@example.com",
                "password": "wrong",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"X-Forwarded-For": f"192.0.2.{attempt}", "Referer": base + "/"},
        )
        messages.append(response.status_code == 429 or "Too many failed login attempts" in response.text)
    assert messages[0] is False and messages[-1] is True


@pytest.mark.server
def test_a_websocket_handshake_reads_the_address_the_same_way(world, portal):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    base = portal()
    key = world.key(allowed_ips=["10.9.9.9"])
    url = base.replace("http://", "ws://") + "/ws/tenants/acme/"
    with connect(
        url, additional_headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": "10.9.9.9"}, open_timeout=10
    ) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd.code == 4401  # the key was refused: its owner stays anonymous


# --- The resolving rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trusted,peer,header,client",
    [
        ([], "198.51.100.1", "10.9.9.9", "198.51.100.1"),  # nobody trusted: the peer
        (["10.0.0.0/8"], "198.51.100.1", "10.9.9.9", "198.51.100.1"),  # an untrusted peer's header is ignored
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (["10.0.0.0/8"], "10.0.0.2", "1.1.1.1, 203.0.113.9, 10.0.0.3", "203.0.113.9"),  # right-most untrusted
        (["10.0.0.0/8"], "10.0.0.2", "10.0.0.9, 10.0.0.3", "10.0.0.9"),  # only proxies: the farthest
        (["10.0.0.0/8"], "10.0.0.2", "garbage, 10.0.0.3", "10.0.0.3"),  # stop at what no proxy wrote
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.9:5555", "203.0.113.9"),
        (["10.0.0.0/8"], "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        (["fd00::/8"], "fd00::5", "2001:db8::7, fd00::6", "2001:db8::7"),
        (["10.0.0.0/8"], "::ffff:10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(trusted, peer, header, client):
    with override_settings(TRUSTED_PROXIES=trusted):
        assert resolve(peer, header) == client


@pytest.mark.django_db
def test_the_audit_trail_and_key_allow_lists_read_the_same_address(world, api):
    key = world.key(allowed_ips=["10.9.9.9"])
    api.with_key(key)
    assert api.get(TENANTS, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 403
    with override_settings(TRUSTED_PROXIES=["192.0.2.0/24"]):
        assert api.get(TENANTS, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 200
        api.with_key(world.key())
        api.post(
            "/api/v1/environments/",
            {"tenant": "acme", "name": "qa"},
            format="json",
            REMOTE_ADDR="192.0.2.1",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.77",
        )
    assert AuditEvent.objects.filter(action__startswith="environment").latest("pk").ip == "203.0.113.77"
