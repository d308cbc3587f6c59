"""Retention against the real registry: the newest tags stay, older ones go unless a release, a
workload or a running build needs their image, and the garbage collection frees their layers."""

import uuid

import pytest
import requests
from django.conf import settings

from apps.audit.models import AuditEvent
from apps.builds import engine, tokens
from apps.builds.models import State
from apps.builds.retention import images_prune, repository_prune
from apps.workloads.models import Workload
from tests.deployments.conftest import make_app, make_release

from .conftest import MANIFEST_V2, context, dockerfile, finished, log_text, registry_manifest, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def builder(build_stack, celery_worker):
    return celery_worker


def build(api, world, application, tag, **fields):
    """A build whose image differs from every other tag's (its own layer says which tag it is)."""
    data = context({"Dockerfile": dockerfile(f'RUN ["/bin/sh", "-c", "echo {tag} > /version"]')})
    response = upload(api, world.user("developer"), application, data, tag=tag, **fields)
    assert response.status_code == 201, response.content
    done = finished(response.json()["id"], timeout=120)
    assert done.state == State.SUCCEEDED, log_text(done)
    return done


def own_layer(name: str, tag: str) -> str:
    """The digest of the image's last layer: the one only this tag has."""
    token, _ = tokens.issue("tests", [tokens.repository(name, tokens.PULL)])
    manifest = requests.get(
        f"{settings.REGISTRY_URL}/v2/{name}/manifests/{tag}",
        headers={"Accept": MANIFEST_V2, "Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return manifest.json()["layers"][-1]["digest"]


def blob_status(name: str, digest: str) -> int:
    token, _ = tokens.issue("tests", [tokens.repository(name, tokens.PULL)])
    url = f"{settings.REGISTRY_URL}/v2/{name}/blobs/{digest}"
    return requests.head(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_the_newest_tags_stay_and_nothing_in_use_is_deleted(world, api, builder):
    # A repository of its own: the registry outlives test runs, and other tests push acme/shop.
    shop = make_app(world.acme, name=f"kept-{uuid.uuid4().hex[:8]}")
    name = f"acme/{shop.name}"
    make_release(shop, image="ghcr.io/acme/shop:0.9")
    pinned = build(api, world, shop, "v1", create_release="true")  # release #2 pins v1 by digest
    build(api, world, shop, "v2")
    build(api, world, shop, "v3")
    build(api, world, shop, "v4")
    build(api, world, shop, "v5")
    # A workload runs v2 by its tag (the lifecycle manager read it off the cluster).
    Workload.objects.create(
        tenant=world.acme,
        application=shop,
        environment=world.acme.environments.get(name="dev"),
        image=f"{pinned.image}:v2",
    )
    shop.keep_image_tags = 2
    shop.save()
    dropped_layer, kept_layer = own_layer(name, "v3"), own_layer(name, "v5")
    assert blob_status(name, dropped_layer) == 200

    results = {result.repository: result for result in images_prune()}

    result = results[name]
    assert result.kept == ["v5", "v4"]
    assert sorted(result.protected) == ["v1", "v2"]
    assert result.removed == ["v3"]
    assert engine.repository_tags(name) == ["v1", "v2", "v4", "v5"]
    assert registry_manifest(name, "v3").status_code == 404
    assert registry_manifest(name, "v1").headers["Docker-Content-Digest"] == pinned.digest
    # The garbage collection freed the deleted image's own layer, and only that.
    assert blob_status(name, dropped_layer) == 404
    assert blob_status(name, kept_layer) == 200
    entry = AuditEvent.objects.get(action="image.prune")
    assert entry.tenant_id == world.acme.pk and entry.changes == {"tags": ["v3", None]}

    # Once the release and the workload are gone, their tags go too, down to the newest two.
    Workload.objects.all().delete()
    shop.keep_image_tags = None
    shop.save()
    assert repository_prune(name, 2).removed == ["v2"]  # v1 is still release #2's
    assert engine.repository_tags(name) == ["v1", "v4", "v5"]


def test_the_keep_setting_is_the_applications_in_the_api_and_the_page(world, api, client):
    shop = make_app(world.acme, name="shop")
    api.as_user(world.user("admin"))
    response = api.patch(f"/api/v1/applications/{shop.pk}/", {"keep_image_tags": 5}, format="json")
    assert response.status_code == 200, response.content
    assert api.get(f"/api/v1/applications/{shop.pk}/").json()["keep_image_tags"] == 5
    refused = api.patch(f"/api/v1/applications/{shop.pk}/", {"keep_image_tags": 0}, format="json")
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["keep_image_tags"]

    client.force_login(world.user("admin"))
    page = client.get("/t/acme/apps/shop/edit/")
    assert "Image tags to keep" in page.content.decode()
    client.post("/t/acme/apps/shop/edit/", {"keep_image_tags": "", "description": "the shop"})
    shop.refresh_from_db()
    assert shop.keep_image_tags is None and shop.description == "the shop"
