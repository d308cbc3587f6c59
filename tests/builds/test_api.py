"""Requests for builds that are refused before anything runs, and who may see and start builds."""

import gzip
import os
import tarfile

import pytest

from apps.builds.models import Build, BuildLogLine, State
from apps.builds.services import log_append
from tests.deployments.conftest import make_app

from .conftest import context, dockerfile, upload

pytestmark = pytest.mark.django_db
URL = "/api/v1/builds/"


@pytest.fixture
def shop(world, engine_configured):
    return make_app(world.acme, name="shop")


@pytest.mark.parametrize(
    ("files", "links", "says"),
    [
        ({"../escape": "x"}, {}, "“../escape” is outside the build context"),
        ({"app/../../escape": "x"}, {}, "is outside the build context"),
        ({"/etc/passwd": "x"}, {}, "“/etc/passwd” is outside the build context"),
        ({}, {"hosts": "/etc/hosts"}, "The link “hosts” points outside the build context (/etc/hosts)"),
        ({}, {"app/up": "../../secret"}, "The link “app/up” points outside the build context"),
    ],
)
def test_a_context_leaving_its_folder_is_refused_at_upload(world, api, shop, files, links, says):
    data = context({"Dockerfile": dockerfile(), **files}, links=links, busybox=False)
    response = upload(api, world.user("developer"), shop, data)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "bad_context"
    assert says in response.json()["fields"]["context"][0]
    assert not Build.objects.exists()


def test_a_link_inside_the_context_is_fine(world, api, shop):
    data = context({"Dockerfile": dockerfile(), "app/main": "x"}, links={"current": "app/main"}, busybox=False)
    assert upload(api, world.user("developer"), shop, data).status_code == 201


def test_a_context_that_is_not_a_tar_gz_is_refused(world, api, shop):
    response = upload(api, world.user("developer"), shop, b"FROM scratch\n")
    assert response.status_code == 400
    assert response.json()["detail"] == "The context is not a .tar.gz archive."


def test_a_context_over_the_limit_is_refused_with_413(world, api, shop, settings):
    settings.BUILD_CONTEXT_MAX_BYTES = 2000
    data = context({"Dockerfile": dockerfile(), "noise": os.urandom(1_200_000)}, busybox=False)
    response = upload(api, world.user("developer"), shop, data)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    # Under the request limit but over the context's: the build's own refusal.
    settings.BUILD_CONTEXT_MAX_BYTES = len(data) - 1
    response = upload(api, world.user("developer"), shop, data)
    assert response.status_code == 413
    assert response.json()["code"] == "context_too_large"
    assert not Build.objects.exists()


def test_a_context_that_unpacks_past_the_limit_is_refused(world, api, shop, settings):
    settings.BUILD_CONTEXT_MAX_UNPACKED_BYTES = 10_000
    data = context({"Dockerfile": dockerfile(), "zeros": bytes(50_000)}, busybox=False)
    response = upload(api, world.user("developer"), shop, data)
    assert response.status_code == 400
    assert "unpacks to more than 10000 bytes" in response.json()["detail"]


def _gzipped_tar(*blocks: bytes) -> bytes:
    """A gzipped tar made of raw 512-byte blocks (headers as the tests shape them), then its end."""
    return gzip.compress(b"".join(blocks) + bytes(1024))


def _header(name: str, *, size: int = 0, kind: bytes = tarfile.REGTYPE, fmt=tarfile.GNU_FORMAT, **pax) -> bytes:
    """One member's header block(s); a negative `size` is written base-256, as a damaged or hostile one is."""
    info = tarfile.TarInfo(name)
    info.type, info.size, info.pax_headers = kind, max(size, 0), pax
    buffer = bytearray(info.tobuf(format=fmt))
    if size < 0:
        header = buffer[-512:]
        header[124:136] = (256**12 + size).to_bytes(12, "big")  # base-256, two's complement
        header[148:156] = b" " * 8
        header[148:156] = b"%06o\0 " % sum(header)
        buffer[-512:] = header
    return bytes(buffer)


def _file(name: str, content: bytes) -> bytes:
    return _header(name, size=len(content)) + content + bytes(-len(content) % 512)


@pytest.mark.parametrize(
    ("blocks", "says"),
    [
        # tarfile of this Python goes back to the same header forever on a negative size.
        ((_header("evil", size=-512),), "“evil” has a negative size"),
        # A long name is read whole into memory: 1 MiB of zeros here, gigabytes for the limit's sake.
        (
            (_header("././@LongLink", size=1024 * 1024, kind=tarfile.GNUTYPE_LONGNAME), bytes(1024 * 1024)),
            "name or extended header",
        ),
        # A malformed sparse map made tarfile raise ValueError: a 500 before.
        (
            (
                _header(
                    "sparse",
                    fmt=tarfile.PAX_FORMAT,
                    **{"GNU.sparse.major": "0", "GNU.sparse.minor": "1", "GNU.sparse.map": "a,b"},
                ),
            ),
            "not a .tar.gz",
        ),
    ],
    ids=["negative size", "long name", "sparse map"],
)
def test_a_hostile_or_damaged_archive_is_refused_without_unbounded_work(world, api, shop, blocks, says):
    data = _gzipped_tar(_file("Dockerfile", dockerfile().encode()), *blocks)
    response = upload(api, world.user("developer"), shop, data)
    assert response.status_code == 400, response.content
    assert says in response.json()["detail"]
    assert not Build.objects.exists()


def test_a_context_of_more_files_than_the_limit_is_refused(world, api, shop, settings):
    """Empty files add nothing to the unpacked size, yet each costs a header read and kept."""
    settings.BUILD_CONTEXT_MAX_FILES = 100
    data = _gzipped_tar(_file("Dockerfile", dockerfile().encode()), *(_header(f"f{n}") for n in range(100)))
    response = upload(api, world.user("developer"), shop, data)
    assert response.status_code == 400 and "more than 100 files" in response.json()["detail"]
    settings.BUILD_CONTEXT_MAX_FILES = 101
    assert upload(api, world.user("developer"), shop, data).status_code == 201


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://github.com/acme/shop.git", "Give the repository as an https:// URL"),
        ("file:///srv/git/shop", "Give the repository as an https:// URL"),
        ("ssh://git@github.com/acme/shop.git", "Give the repository as an https:// URL"),
        ("https://git.evil.example/acme/shop.git", "Builds do not clone from git.evil.example"),
        ("https://ci:ghp_secret@github.com/acme/shop.git", "Give the repository's URL without a user name or token"),
        ("https://127.0.0.1/acme/shop.git", "Builds do not clone from 127.0.0.1"),
        ("https://localhost/acme/shop.git", "Builds do not clone from localhost"),
    ],
)
def test_a_repository_not_allowed_is_refused(world, api, shop, settings, url, says):
    settings.BUILD_GIT_ALLOW_LOCAL = False
    settings.BUILD_GIT_HOSTS = ["github.com", "localhost", "127.0.0.1"]
    api.as_user(world.user("developer"))
    body = {"tenant": "acme", "application": shop.pk, "repository_url": url, "ref": "main"}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["repository_url"][0].startswith(says)


def test_a_ref_that_looks_like_an_option_is_refused(world, api, shop):
    api.as_user(world.user("developer"))
    body = {
        "tenant": "acme",
        "application": shop.pk,
        "repository_url": "https://github.com/a/b",
        "ref": "--upload-pack=x",
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "ref" in response.json()["fields"]


def test_one_source_exactly(world, api, shop):
    api.as_user(world.user("developer"))
    response = api.post(URL, {"tenant": "acme", "application": shop.pk}, format="json")
    assert response.status_code == 400
    assert "Upload a context" in response.json()["detail"]


def test_without_an_engine_builds_are_refused_with_a_reason(world, api, settings):
    settings.DOCKER_HOST = ""
    shop = make_app(world.acme, name="shop")
    response = upload(api, world.user("developer"), shop, context({"Dockerfile": dockerfile()}, busybox=False))
    assert response.status_code == 503
    assert response.json()["code"] == "builds_unavailable"


def test_viewers_read_builds_and_developers_start_them(world, api, shop):
    data = context({"Dockerfile": dockerfile()}, busybox=False)
    assert upload(api, world.user("viewer"), shop, data).status_code == 403
    response = upload(api, world.user("developer"), shop, data, tag="v1", build_args='{"VERSION": "1"}')
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == State.QUEUED
    assert body["tag"] == "v1"
    assert body["build_args"] == {"VERSION": "1"}
    assert body["image"].endswith("/acme/shop")
    assert body["requested_by"] == "developer@acme.test"
    api.as_user(world.user("viewer"))
    assert api.get(f"{URL}{body['id']}/").json()["id"] == body["id"]
    assert api.post(f"{URL}{body['id']}/cancel/").status_code == 403


def test_another_tenants_build_is_not_found(world, api, shop):
    build = Build.objects.get(
        pk=upload(api, world.user("developer"), shop, context({"Dockerfile": "x"}, busybox=False)).json()["id"]
    )
    api.as_user(world.outsider)
    for response in (
        api.get(f"{URL}{build.pk}/"),
        api.get(f"{URL}{build.pk}/log/"),
        api.post(f"{URL}{build.pk}/cancel/"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api.get(URL).json()["results"] == []
    # Nor can another tenant build into acme's application.
    response = upload(api, world.outsider, shop, context({"Dockerfile": "x"}, busybox=False))
    assert response.status_code == 400
    assert "tenant" in response.json()["fields"] or "application" in response.json()["fields"]


def test_a_key_needs_the_builds_scope(world, api, shop):
    key = world.key("developer", scopes=["apps:read"])
    api.with_key(key)
    assert api.get(URL).status_code == 403
    api.with_key(world.key("developer", scopes=["builds:read"]))
    assert api.get(URL).status_code == 200


def test_cancelling_a_queued_build_ends_it_at_once(world, api, shop):
    build_id = upload(api, world.user("developer"), shop, context({"Dockerfile": "x"}, busybox=False)).json()["id"]
    response = api.post(f"{URL}{build_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["state"] == State.CANCELLED
    assert response.json()["outcome"].startswith("Cancelled by developer@acme.test")
    assert not Build.objects.get(pk=build_id).__class__.context.related.related_model.objects.exists()
    again = api.post(f"{URL}{build_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "build_finished"


def test_the_log_is_numbered_without_gaps_and_read_after_a_seq(world, api, shop):
    build = Build.objects.get(
        pk=upload(api, world.user("developer"), shop, context({"Dockerfile": "x"}, busybox=False)).json()["id"]
    )
    log_append(build, ["one", "two"])
    log_append(build, ["three"])
    seqs = list(BuildLogLine.objects.filter(build=build).values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4]
    response = api.get(f"{URL}{build.pk}/log/?after_seq=2")
    assert [(line["seq"], line["text"]) for line in response.json()] == [(3, "two"), (4, "three")]
    assert api.get(f"{URL}{build.pk}/log/?after_seq=x").status_code == 400


def test_the_build_page_refuses_a_context_over_the_limit_by_its_size(world, client, shop, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = context({"Dockerfile": dockerfile(), "noise": os.urandom(20_000)}, busybox=False)
    settings.BUILD_CONTEXT_MAX_BYTES = len(data) - 1
    client.force_login(world.user("developer"))
    sent = {"application": "shop", "dockerfile": "Dockerfile", "context": SimpleUploadedFile("c.tar.gz", data)}
    response = client.post("/t/acme/builds/new/", sent)
    assert response.status_code == 400
    assert f"The context is {len(data)} bytes" in response.content.decode()
    assert not Build.objects.exists()
