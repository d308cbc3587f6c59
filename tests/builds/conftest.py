"""The Docker engine and registry for build tests, contexts to build, and a worker that builds."""

import io
import os
import shutil
import tarfile

import pytest
import requests
from django.conf import settings as django_settings

from tests.conftest import BUSYBOX, wait_for

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def engine_configured(settings):
    """Settings that name an engine and a registry, for tests that never reach them (refusals at upload)."""
    settings.DOCKER_HOST = settings.DOCKER_HOST or "unix:///nonexistent/docker.sock"
    settings.REGISTRY_URL = settings.REGISTRY_URL or "http://127.0.0.1:1"


def context(files: dict[str, bytes | str], *, links: dict[str, str] | None = None, busybox=True) -> bytes:
    """A .tar.gz build context of `files` (path -> content), symbolic `links` (path -> target), and the
    static busybox as `busybox` unless told not to."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        if busybox:
            archive.add(BUSYBOX, arcname="busybox")
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def dockerfile(*steps: str) -> str:
    """A FROM scratch Dockerfile with a shell, then `steps`."""
    return "\n".join(["FROM scratch", "COPY busybox /bin/sh", *steps]) + "\n"


def upload(api, user, application, data: bytes, **fields):
    api.as_user(user)
    payload = {"tenant": application.tenant.slug, "application": application.pk, **fields}
    payload["context"] = io.BytesIO(data)
    payload["context"].name = "context.tar.gz"
    return api.post("/api/v1/builds/", payload, format="multipart")


def finished(build_id, timeout=60):
    from apps.builds.models import TERMINAL, Build

    return wait_for(lambda: Build.objects.filter(pk=build_id, state__in=TERMINAL).first(), timeout=timeout)


def log_text(build) -> str:
    return "\n".join(build.log_lines.order_by("seq").values_list("text", flat=True))


def registry_manifest(repository: str, reference: str, token: str = "") -> requests.Response:
    """The registry's own answer for a manifest, read with `token` or else a pull token for `repository`,
    and no other of the portal's code."""
    from apps.builds import tokens

    if not token:
        token, _ = tokens.issue("tests", [tokens.repository(repository, tokens.PULL)])
    return requests.head(
        f"{django_settings.REGISTRY_URL}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST_V2, "Authorization": f"Bearer {token}"},
        timeout=10,
    )


def docker_cli(*args: str) -> str:
    import subprocess

    docker = shutil.which("docker")
    assert docker, "the docker client is not installed"
    env = {**os.environ, "DOCKER_HOST": django_settings.DOCKER_HOST}
    return subprocess.run([docker, *args], env=env, capture_output=True, text=True, check=True).stdout
