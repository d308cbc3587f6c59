"""The image rules: the operators' allow-list for releases, the platform registry's tenancy, and
environments that accept only digest-pinned images, in the API and on the pages."""

import pytest

from apps.catalog.images import IMAGE_NOT_ALLOWED, repository_of
from apps.deployments.services.create import DIGEST_REQUIRED
from tests.deployments.conftest import make_app, make_release
from tests.deployments.test_pipeline import deploy

from .test_api import app_in, post_release

pytestmark = pytest.mark.django_db
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image, repository",
    [
        ("nginx:1.27", "docker.io/library/nginx"),
        ("bitnami/redis:7.2", "docker.io/bitnami/redis"),
        (f"ghcr.io/acme/api@{DIGEST}", "ghcr.io/acme/api"),
        ("localhost:5000/shop:1", "localhost:5000/shop"),
        ("127.0.0.1:5000/acme/shop:v1", "127.0.0.1:5000/acme/shop"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx"),
    ],
)
def test_repositories_are_named_in_full(image, repository):
    assert repository_of(image) == repository


def test_any_registry_is_allowed_until_the_operators_set_an_allow_list(api, world, settings):
    settings.IMAGE_ALLOWLIST = []
    application = app_in(world)
    api.as_user(world.user("developer"))
    assert post_release(api, application, image="quay.io/anyone/thing:1").status_code == 201

    settings.IMAGE_ALLOWLIST = ["ghcr.io/acme/*", "docker.io/library/nginx"]
    refused = post_release(api, application, image="quay.io/anyone/thing:2")
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == IMAGE_NOT_ALLOWED and list(body["fields"]) == ["image"]
    assert "not on the operators' image allow-list" in body["detail"]
    assert "ghcr.io/acme/*, docker.io/library/nginx" in body["detail"]  # the rule that refused it
    assert post_release(api, application, image="ghcr.io/acme/shop:2.0").status_code == 201
    assert post_release(api, application, image="nginx:1.27").status_code == 201  # docker.io/library/nginx
    assert post_release(api, application, image="ghcr.io/globex/shop:1").status_code == 400
    assert post_release(api, application, image="nginx-evil:1").status_code == 400


def test_the_platform_registry_is_allowed_but_only_for_the_tenants_own_repositories(api, world, settings):
    settings.REGISTRY_URL = "http://registry.platform.test:5000"
    settings.IMAGE_ALLOWLIST = ["ghcr.io"]
    application = app_in(world)
    api.as_user(world.user("developer"))
    own = post_release(api, application, image=f"registry.platform.test:5000/acme/shop@{DIGEST}")
    assert own.status_code == 201, own.content
    other = post_release(api, application, image="registry.platform.test:5000/globex/shop:v1")
    assert other.status_code == 400
    assert other.json()["code"] == IMAGE_NOT_ALLOWED
    assert "another tenant's repository" in other.json()["detail"]


def test_a_deploy_is_checked_against_the_allow_list_of_today(api, world, settings):
    release = make_release(make_app(world.acme, name="shop"), image="quay.io/anyone/thing:1")
    settings.IMAGE_ALLOWLIST = ["ghcr.io"]
    response = deploy(api, world.user("developer"), release)
    assert response.status_code == 400
    assert response.json()["code"] == IMAGE_NOT_ALLOWED and list(response.json()["fields"]) == ["release"]


def test_a_digest_pinned_environment_refuses_a_tag_and_takes_a_digest(api, world):
    shop = make_app(world.acme, name="shop")
    tagged = make_release(shop, image="ghcr.io/acme/shop:2.0")
    pinned = make_release(shop, image=f"ghcr.io/acme/shop@{DIGEST}", image_digest=DIGEST)
    api.as_user(world.user("admin"))
    settings_row = api.get("/api/v1/deploy-settings/", {"environment": "dev"}).json()["results"][0]
    assert settings_row["require_digest"] is False
    changed = api.patch(f"/api/v1/deploy-settings/{settings_row['id']}/", {"require_digest": True}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["require_digest"] is True

    refused = deploy(api, world.user("developer"), tagged)
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == DIGEST_REQUIRED and list(body["fields"]) == ["release"]
    assert "dev accepts only images pinned by digest" in body["detail"] and "ghcr.io/acme/shop:2.0" in body["detail"]
    assert deploy(api, world.user("developer"), pinned).status_code == 201
    # Other environments are not affected.
    assert deploy(api, world.user("developer"), tagged, environment="staging").status_code == 201


def test_the_settings_page_turns_digest_pinning_on_and_the_deploy_form_says_why_it_refuses(client, world):
    shop = make_app(world.acme, name="shop")
    tagged = make_release(shop, image="ghcr.io/acme/shop:2.0")
    dev = world.acme.environments.get(name="dev")
    client.force_login(world.user("admin"))
    page = client.get("/t/acme/deployments/settings/")
    assert "Only digest-pinned images" in page.content.decode()
    row = page.context["rows"].get(environment=dev)
    response = client.post(
        f"/t/acme/deployments/settings/{row.pk}/", {"require_digest": "on", "self_heal": "notify"}, follow=True
    )
    assert "Images: pinned by digest only." in response.content.decode()
    row.refresh_from_db()
    assert row.require_digest is True

    form = client.post(
        "/t/acme/deployments/new/?application=shop",
        {"application": shop.pk, "release": tagged.pk, "environment": dev.pk, "strategy": "rolling"},
    )
    assert form.status_code == 400
    assert "dev accepts only images pinned by digest" in form.content.decode()
