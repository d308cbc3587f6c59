"""The registry's token auth with the portal as issuer, against the real registry: a tenant's
credentials get tokens for `<tenant>/*` only, the registry refuses everything else, and nothing at all
without a token."""

import base64
import json

import pytest
import requests
from django.conf import settings

from apps.builds import tokens
from apps.builds.access import pull_credential
from apps.builds.models import State
from tests.deployments.conftest import make_app

from .conftest import MANIFEST_V2, context, dockerfile, finished, log_text, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def builder(build_stack, celery_worker):
    return celery_worker


def built(api, world, application, tag="v1"):
    user = world.user("developer", application.tenant.slug)
    response = upload(api, user, application, context({"Dockerfile": dockerfile()}), tag=tag)
    assert response.status_code == 201, response.content
    build = finished(response.json()["id"])
    assert build.state == State.SUCCEEDED, log_text(build)
    return build


def realm(client, username: str, password: str, *scopes: str):
    """Ask the portal's token realm, as a Docker client does: Basic credentials, service and scopes."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    query = {"service": settings.REGISTRY_TOKEN_SERVICE, "scope": list(scopes)}
    return client.get("/registry/token/", query, HTTP_AUTHORIZATION=f"Basic {basic}")


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def manifest(repository: str, reference: str, token: str | None = None) -> requests.Response:
    """The registry's own answer, with the token (or none)."""
    headers = {"Accept": MANIFEST_V2, **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.get(f"{settings.REGISTRY_URL}/v2/{repository}/manifests/{reference}", headers=headers, timeout=10)


def start_upload(repository: str, token: str) -> requests.Response:
    """The first call of a push: open a blob upload."""
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(f"{settings.REGISTRY_URL}/v2/{repository}/blobs/uploads/", headers=headers, timeout=10)


def test_a_tenants_pull_credential_pulls_its_own_repositories_and_no_other(world, api, client, builder):
    acme_build = built(api, world, make_app(world.acme, name="shop"))
    globex_build = built(api, world, make_app(world.globex, name="shop"))

    # Nothing without a token: the registry sends the client to the portal's realm.
    anonymous = manifest("acme/shop", "v1")
    assert anonymous.status_code == 401
    assert f'realm="{settings.REGISTRY_TOKEN_REALM}"' in anonymous.headers["WWW-Authenticate"]

    credential = pull_credential(world.acme)
    response = realm(
        client,
        credential.username,
        credential.password,
        "repository:acme/shop:pull,push",
        "repository:globex/shop:pull",
        "registry:catalog:*",
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    # Only its own repository, and only to pull.
    assert claims(token)["access"] == [{"type": "repository", "name": "acme/shop", "actions": ["pull"]}]
    own = manifest("acme/shop", "v1", token)
    assert own.status_code == 200
    assert own.headers["Docker-Content-Digest"] == acme_build.digest
    assert manifest("globex/shop", "v1", token).status_code == 401
    assert start_upload("acme/shop", token).status_code == 401

    # Globex's credential opens globex's repository, not acme's.
    globex = pull_credential(world.globex)
    token = realm(client, globex.username, globex.password, "repository:globex/shop:pull").json()["token"]
    assert manifest("globex/shop", "v1", token).headers["Docker-Content-Digest"] == globex_build.digest
    token = realm(client, globex.username, globex.password, "repository:acme/shop:pull").json()["token"]
    assert manifest("acme/shop", "v1", token).status_code == 401

    # A wrong password gets no token at all.
    refused = realm(client, credential.username, "not-the-password", "repository:acme/shop:pull")
    assert refused.status_code == 401
    assert "token" not in refused.json()


def test_an_api_key_logs_in_to_push_and_pull_its_tenants_repositories(world, api, client, builder):
    built(api, world, make_app(world.acme, name="shop"))
    developer = world.key("developer")
    token = realm(client, "ci", developer, "repository:acme/shop:pull,push", "repository:globex/shop:pull")
    token = token.json()["token"]
    assert claims(token)["access"] == [{"type": "repository", "name": "acme/shop", "actions": ["pull", "push"]}]
    assert manifest("acme/shop", "v1", token).status_code == 200
    assert start_upload("acme/shop", token).status_code == 202

    # A viewer pulls but does not push; a key without the builds scope gets nothing.
    viewer = realm(client, "ci", world.key("viewer"), "repository:acme/shop:pull,push").json()["token"]
    assert claims(viewer)["access"] == [{"type": "repository", "name": "acme/shop", "actions": ["pull"]}]
    assert start_upload("acme/shop", viewer).status_code == 401
    unscoped = realm(client, "ci", world.key("developer", scopes=["apps:read"]), "repository:acme/shop:pull")
    assert claims(unscoped.json()["token"])["access"] == []
    assert manifest("acme/shop", "v1", unscoped.json()["token"]).status_code == 401


def test_the_registry_refuses_a_token_signed_by_another_key(world, api, builder, settings, tmp_path):
    built(api, world, make_app(world.acme, name="shop"))
    good, _ = tokens.issue("tests", [tokens.repository("acme/shop", tokens.PULL)])
    assert manifest("acme/shop", "v1", good).status_code == 200

    settings.REGISTRY_TOKEN_KEY_FILE = str(tmp_path / "another.key")
    forged, _ = tokens.issue("tests", [tokens.repository("acme/shop", tokens.PULL)])
    assert manifest("acme/shop", "v1", forged).status_code == 401
