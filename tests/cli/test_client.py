"""The SDK against a live portal: lists follow cursor pages, errors arrive as one PortalError."""

import pytest
from portal_client import PortalClient, PortalError

from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db(transaction=True)


def test_lists_follow_the_cursor_pages_to_the_end(asgi_server, world):
    for number in range(7):
        make_app(world.acme, f"app-{number}", kind="worker")
    make_app(world.globex, "foreign", kind="worker")
    client = PortalClient(asgi_server, world.key("viewer"))
    requests_made = []
    client.session.hooks["response"].append(lambda response, **_: requests_made.append(response.url))

    names = [app["name"] for app in client.paginate("/applications/", page_size=3)]
    assert names == [f"app-{number}" for number in reversed(range(7))]  # newest first, nothing foreign
    assert len(requests_made) == 3 and "cursor=" in requests_made[-1]
    assert len(list(client.applications(limit=4))) == 4


def test_errors_carry_the_apis_code_detail_and_fields(asgi_server, world):
    client = PortalClient(asgi_server, world.key("developer"))
    with pytest.raises(PortalError) as missing:
        client.release(999999)
    assert (missing.value.status, missing.value.code, missing.value.detail) == (404, "not_found", "Not found.")

    make_app(world.acme, "shop", kind="worker")
    app = client.application("shop")
    with pytest.raises(PortalError) as invalid:
        client.create_release(application=app, image="registry.example/shop:1", replicas=1000)
    assert invalid.value.status == 400 and invalid.value.code == "invalid"
    assert "replicas" in invalid.value.fields and "replicas:" in str(invalid.value)

    with pytest.raises(PortalError) as unauthenticated:
        PortalClient(asgi_server, "pk_nosuchkey_0000000000").me()
    assert (unauthenticated.value.status, unauthenticated.value.code) == (401, "invalid_key")

    with pytest.raises(PortalError) as unreachable:
        PortalClient("http://127.0.0.1:9", "pk_x_y", timeout=2).me()
    assert (unreachable.value.status, unreachable.value.code) == (0, "unreachable")


def test_deploy_retried_with_the_same_idempotency_key_starts_one_deployment(asgi_server, world):
    release = make_release(make_app(world.acme, "shop", kind="worker"))
    client = PortalClient(asgi_server, world.key("developer"))
    first = client.deploy(release=release.pk, environment="dev", idempotency_key="retry-1")
    again = client.deploy(release=release.pk, environment="dev", idempotency_key="retry-1")
    assert first["id"] == again["id"]
    assert [d["id"] for d in client.deployments()] == [first["id"]]
    assert client.events(first["id"])[0]["state"] == "queued"
    assert client.events(first["id"], after_seq=1) == []
