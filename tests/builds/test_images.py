"""GET /api/v1/images/: each application's repository in the registry, read from the registry, with the
releases that pin each tag; another tenant's repositories are never listed."""

import secrets

import pytest

from apps.builds.models import State
from tests.deployments.conftest import make_app, make_release

from .conftest import context, dockerfile, finished, registry_manifest, upload

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/images/"


def test_images_list_tags_digests_sizes_and_the_releases_using_them(world, api, build_stack, celery_worker):
    # The registry outlives test runs: a name of this run's own, so earlier pushes are not listed.
    name = f"shop-{secrets.token_hex(4)}"
    shop = make_app(world.acme, name=name)
    make_release(shop)
    other = make_app(world.globex, name="secret")
    data = context({"Dockerfile": dockerfile()})
    released = finished(upload(api, world.user("developer"), shop, data, tag="v1", create_release=True).json()["id"])
    plain = finished(upload(api, world.user("developer"), shop, data, tag="v2").json()["id"])
    foreign = finished(upload(api, world.user("developer", "globex"), other, data, tag="v1").json()["id"])
    assert released.state == plain.state == foreign.state == State.SUCCEEDED

    api.as_user(world.user("viewer"))
    response = api.get(URL, {"tenant": "acme"})
    assert response.status_code == 200, response.content
    [image] = response.json()
    assert (image["tenant"], image["application"], image["repository"]) == ("acme", name, released.image)
    tags = {tag["tag"]: tag for tag in image["tags"]}
    assert set(tags) == {"v1", "v2"}
    assert tags["v1"]["digest"] == registry_manifest(f"acme/{name}", "v1").headers["Docker-Content-Digest"]
    assert tags["v1"]["size"] > 0
    assert tags["v1"]["releases"] == [released.release.number]
    assert tags["v2"]["releases"] == []
    # Without a tenant: every repository the caller may see, and never globex's.
    assert {image["tenant"] for image in api.get(URL).json()} == {"acme"}
    assert api.get(URL, {"tenant": "globex"}).status_code == 400
    assert [image["application"] for image in api.get(URL, {"application": name}).json()] == [name]
    assert api.get(URL, {"tenant": "acme", "application": "nothing"}).json() == []

    api.with_key(world.key("developer", scopes=["apps:read"]))
    assert api.get(URL).status_code == 403
