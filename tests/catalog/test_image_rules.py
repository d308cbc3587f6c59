"""The operators' image allow-list kept in the console and the operator API: entries stored in full,
audited, counted besides the IMAGE_ALLOWLIST setting, and named in the refusal of a release."""

import pytest

from apps.audit.models import AuditEvent
from apps.catalog.images import IMAGE_NOT_ALLOWED, RULE_TAKEN
from apps.catalog.models import ImageRule

from .test_api import app_in, post_release

pytestmark = pytest.mark.django_db
RULES = "/api/v1/operator/image-rules/"


@pytest.mark.parametrize(
    "given, stored",
    [
        ("GHCR.io", "ghcr.io"),
        ("ghcr.io/Acme/*", "ghcr.io/acme/*"),
        ("nginx", "docker.io/library/nginx"),
        ("bitnami/*", "docker.io/bitnami/*"),
        ("index.docker.io/library/redis", "docker.io/library/redis"),
        ("localhost:5000/shop", "localhost:5000/shop"),
    ],
)
def test_entries_are_stored_in_full(api, world, given, stored):
    api.as_user(world.operator)
    response = api.post(RULES, {"pattern": given}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["pattern"] == stored


def test_operators_keep_the_allow_list_and_a_release_outside_it_is_refused_naming_it(api, world, settings):
    settings.IMAGE_ALLOWLIST = []
    application = app_in(world)
    api.as_user(world.user("developer"))
    assert post_release(api, application, image="quay.io/anyone/thing:1").status_code == 201  # no list: any

    api.as_user(world.operator)
    added = api.post(RULES, {"pattern": "ghcr.io/acme/*", "note": "images of the team"}, format="json")
    assert added.status_code == 201, added.content
    assert api.post(RULES, {"pattern": "GHCR.io/acme/*"}, format="json").json()["code"] == RULE_TAKEN
    bad = api.post(RULES, {"pattern": "nginx:1.27"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["pattern"]
    event = AuditEvent.objects.get(action="image_rule.add")
    assert event.changes == {"pattern": [None, "ghcr.io/acme/*"]} and event.actor == world.operator

    api.as_user(world.user("developer"))
    refused = post_release(api, application, image="quay.io/anyone/thing:2")
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == IMAGE_NOT_ALLOWED and list(body["fields"]) == ["image"]
    assert "images may come only from ghcr.io/acme/*" in body["detail"]
    assert post_release(api, application, image="ghcr.io/acme/shop:2.0").status_code == 201

    # The setting's entries count besides the operators' and are named with them.
    settings.IMAGE_ALLOWLIST = ["docker.io/library/nginx"]
    assert post_release(api, application, image="nginx:1.27").status_code == 201
    assert (
        "docker.io/library/nginx, ghcr.io/acme/*"
        in post_release(api, application, image="quay.io/x/y:1").json()["detail"]
    )

    api.as_user(world.operator)
    listed = api.get(RULES).json()["results"]
    assert [(row["pattern"], row["note"]) for row in listed] == [("ghcr.io/acme/*", "images of the team")]
    assert api.delete(f"{RULES}{listed[0]['id']}/").status_code == 204
    assert AuditEvent.objects.get(action="image_rule.remove").changes == {"pattern": ["ghcr.io/acme/*", None]}
    settings.IMAGE_ALLOWLIST = []
    api.as_user(world.user("developer"))
    assert post_release(api, application, image="quay.io/anyone/thing:3").status_code == 201


def test_only_operators_reach_the_allow_list(api, world):
    rule = ImageRule.objects.create(pattern="ghcr.io")
    for role in ("owner", "admin"):
        api.as_user(world.user(role))
        assert api.post(RULES, {"pattern": "quay.io"}, format="json").status_code == 403
        assert api.get(RULES).status_code == 403
        assert api.delete(f"{RULES}{rule.pk}/").status_code == 403
    api.with_key(world.key("owner"))
    assert api.get(RULES).status_code in (401, 403)
    assert list(ImageRule.objects.values_list("pattern", flat=True)) == ["ghcr.io"]


def test_the_operator_images_page_adds_lists_and_removes(client, world, settings):
    settings.IMAGE_ALLOWLIST = ["docker.io/library/nginx"]
    client.force_login(world.operator)
    page = client.get("/operator/images/").content.decode()
    assert "docker.io/library/nginx" in page and "IMAGE_ALLOWLIST setting" in page
    response = client.post("/operator/images/", {"pattern": "ghcr.io/acme/*", "note": "images of the team"})
    assert response.status_code == 302
    page = client.get("/operator/images/").content.decode()
    assert "ghcr.io/acme/*" in page and "images of the team" in page
    again = client.post("/operator/images/", {"pattern": "ghcr.io/acme/*"})
    assert again.status_code == 400 and "already on the allow-list" in again.content.decode()
    wrong = client.post("/operator/images/", {"pattern": "not an image"})
    assert wrong.status_code == 400 and "is not an allow-list entry" in wrong.content.decode()
    rule = ImageRule.objects.get()
    assert client.post(f"/operator/images/{rule.pk}/delete/").status_code == 302
    assert not ImageRule.objects.exists()
    assert AuditEvent.objects.filter(action="image_rule.remove", actor=world.operator).exists()

    client.force_login(world.user("owner"))
    assert client.get("/operator/images/").status_code == 404
    assert client.post("/operator/images/", {"pattern": "quay.io"}).status_code == 404
    assert not ImageRule.objects.exists()
