"""The one place that talks to the Docker engine (through the `docker` SDK) and the image registry.

The engine is DOCKER_HOST; the registry is REGISTRY_URL. A build's output and a push's progress come
as streams of JSON messages; `follow()` turns either into lines of text and can be stopped from another
thread (a cancel or the time limit), which closes the connection, and the engine then abandons the build.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import docker
import requests
from django.conf import settings
from docker.errors import DockerException

from . import tokens

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


# One connection pool for the portal's calls to the registry.
_session = requests.Session()


class EngineError(Exception):
    """The engine or the registry refused or could not be reached; the message says which and why."""


def configured() -> bool:
    return bool(settings.DOCKER_HOST and settings.REGISTRY_URL)


def registry_host() -> str:
    """`host[:port]` of the registry, as image references name it."""
    return urlsplit(settings.REGISTRY_URL).netloc


def repository_for(tenant_slug: str, application_name: str) -> str:
    return f"{registry_host()}/{tenant_slug}/{application_name}"


class _Client(docker.APIClient):
    """The SDK's low-level client, keeping each streamed response so that `stop()` can cut it."""

    response = None

    def _stream_helper(self, response, decode=False):
        self.response = response
        return super()._stream_helper(response, decode)

    def stop(self) -> None:
        response = self.response
        if response is None:
            return
        try:
            # Shutting the socket down wakes the reading thread; the engine sees the client leave.
            response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            response.close()


# The engine's API version, asked once per process and engine: "auto" costs a round trip per client.
_versions: dict[str, str] = {}


def client() -> _Client:
    try:
        api = _Client(base_url=settings.DOCKER_HOST, version=_versions.get(settings.DOCKER_HOST, "auto"), timeout=60)
        _versions[settings.DOCKER_HOST] = api.api_version
        return api
    except DockerException as exc:
        raise EngineError(f"The build engine at {settings.DOCKER_HOST} cannot be reached: {exc}") from None


def _line(message: dict) -> str | None:
    """The text of one streamed message; None for progress bars nobody reads."""
    if "error" in message:
        raise EngineError(str(message.get("error") or "the engine reported an error").strip())
    if "stream" in message:
        return message["stream"]
    if "status" in message:
        if "progressDetail" in message and message.get("progress"):
            return None
        where = f"{message['id']}: " if message.get("id") else ""
        return f"{where}{message['status']}\n"
    if "aux" in message:
        return None
    return None


def follow(
    api: _Client,
    stream: Iterator[dict],
    emit: Callable[[list[str]], None],
    should_stop: Callable[[], bool],
    aux: dict | None = None,
) -> tuple[bool, list[str]]:
    """Pass the lines of `stream` to `emit`, a batch every fifth of a second, while it runs. Return (True,
    the last lines) when it ended, for the caller to store with the step that follows in one write;
    (False, []) when `should_stop()` turned true and the stream was cut. An error message in the stream
    raises EngineError, every line before it emitted. The stream's `aux` messages (a push's tag, digest
    and size) are gathered into `aux`."""
    lines: list = []
    done = threading.Event()
    failure: list[BaseException] = []

    def read():
        try:
            partial = ""
            for message in stream:
                if aux is not None and isinstance(message.get("aux"), dict):
                    aux.update(message["aux"])
                text = _line(message)
                if text is None:
                    continue
                partial += text
                *complete, partial = partial.split("\n")
                lines.extend(line for line in complete if line.strip())
            if partial.strip():
                lines.append(partial)
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
        finally:
            done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stopped = False
    while not done.wait(0.2):
        if lines:
            batch = lines[:]
            del lines[: len(batch)]
            emit(batch)
        if not stopped and should_stop():
            stopped = True
            api.stop()
    reader.join(5)
    if stopped or failure:
        emit(lines)
        if stopped:
            return False, []
        if isinstance(failure[0], EngineError):
            raise failure[0]
        raise EngineError(f"The build engine stopped answering: {failure[0]}")
    return True, lines


def build_stream(api: _Client, *, context: bytes, tag: str, dockerfile: str, build_args: dict, target: str):
    import io

    try:
        return api.build(
            fileobj=io.BytesIO(context),
            custom_context=True,
            encoding="gzip",
            tag=tag,
            dockerfile=dockerfile,
            buildargs=build_args or None,
            target=target or None,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        )
    except DockerException as exc:
        raise EngineError(f"The build engine refused the build: {exc}") from None


def push_stream(api: _Client, repository: str, tag: str):
    name = repository.split("/", 1)[1]
    try:
        return api.push(repository, tag=tag, stream=True, decode=True, auth_config=_push_auth(name))
    except DockerException as exc:
        raise EngineError(f"The registry refused the push: {exc}") from None


def _push_auth(name: str) -> dict | None:
    """What the engine presents to the registry: a token the portal signs for this one repository (the
    engine sends it as it is, with no trip to the realm), or the configured user and password."""
    if settings.REGISTRY_TOKEN_AUTH:
        return {"registrytoken": tokens.portal_token([tokens.repository(name, tokens.PULL, tokens.PUSH)])}
    if settings.REGISTRY_USERNAME:
        return {"username": settings.REGISTRY_USERNAME, "password": settings.REGISTRY_PASSWORD}
    return None


def remove_image(api: _Client, reference: str) -> None:
    """Drop the local copy: the registry is where images live."""
    with contextlib.suppress(DockerException):
        api.remove_image(reference, force=True, noprune=False)


def _registry(method: str, path: str, access: tokens.Access, **headers) -> requests.Response:
    """One call to the registry's API, with a token for `access` (or the configured user and password)."""
    auth = None
    if settings.REGISTRY_TOKEN_AUTH:
        headers["Authorization"] = f"Bearer {tokens.portal_token([access])}"
    elif settings.REGISTRY_USERNAME:
        auth = (settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    try:
        return _session.request(method, f"{settings.REGISTRY_URL}/v2/{path}", headers=headers, auth=auth, timeout=30)
    except requests.RequestException as exc:
        raise EngineError(f"The registry at {settings.REGISTRY_URL} cannot be reached: {exc}") from None


def manifest_digest(name: str, tag: str) -> str:
    """The digest the registry gives the manifest of `name:tag` (`name` without the registry host)."""
    response = _registry("HEAD", f"{name}/manifests/{tag}", tokens.repository(name, tokens.PULL), Accept=MANIFEST_TYPES)
    digest = response.headers.get("Docker-Content-Digest", "")
    if response.status_code != 200 or not digest.startswith("sha256:"):
        raise EngineError(f"The registry has no manifest for {name}:{tag} (HTTP {response.status_code}).")
    return digest


def manifest_delete(name: str, digest: str) -> None:
    """Remove a pushed manifest (a build cancelled while pushing leaves nothing behind)."""
    _registry("DELETE", f"{name}/manifests/{digest}", tokens.repository(name, tokens.DELETE))


def repository_tags(name: str) -> list[str]:
    """The tags of a registry repository (`tenant/application`), sorted; none when it does not exist."""
    response = _registry("GET", f"{name}/tags/list", tokens.repository(name, tokens.PULL))
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise EngineError(f"The registry would not list {name} (HTTP {response.status_code}).")
    return sorted(response.json().get("tags") or [])


def manifest_summary(name: str, reference: str) -> tuple[str, int]:
    """(digest, size in bytes of the config and layers) of one manifest, as the registry has it."""
    response = _registry(
        "GET", f"{name}/manifests/{reference}", tokens.repository(name, tokens.PULL), Accept=MANIFEST_TYPES
    )
    if response.status_code != 200:
        raise EngineError(f"The registry has no manifest for {name}:{reference} (HTTP {response.status_code}).")
    body = response.json()
    parts = [body.get("config") or {}, *(body.get("layers") or []), *(body.get("manifests") or [])]
    return response.headers.get("Docker-Content-Digest", ""), sum(int(part.get("size") or 0) for part in parts)


def repositories() -> list[str]:
    """Every repository in the registry (`tenant/application`), from its catalog."""
    names: list[str] = []
    page = "_catalog?n=1000"  # the registry's largest page; the Link header names the next one
    while page:
        response = _registry("GET", page, tokens.Access("registry", "catalog", ("*",)))
        if response.status_code != 200:
            raise EngineError(f"The registry would not list its repositories (HTTP {response.status_code}).")
        names.extend(response.json().get("repositories") or [])
        following = response.links.get("next", {}).get("url", "")
        page = following.split("/v2/", 1)[1] if "/v2/" in following else ""
    return sorted(names)


def image_created(name: str, reference: str) -> tuple[str, str]:
    """(digest, when the image was built: its config's `created`, ISO 8601; "" when it does not say)."""
    response = _registry(
        "GET", f"{name}/manifests/{reference}", tokens.repository(name, tokens.PULL), Accept=MANIFEST_TYPES
    )
    if response.status_code != 200:
        raise EngineError(f"The registry has no manifest for {name}:{reference} (HTTP {response.status_code}).")
    digest = response.headers.get("Docker-Content-Digest", "")
    config = (response.json().get("config") or {}).get("digest")
    if not config:
        return digest, ""
    blob = _registry("GET", f"{name}/blobs/{config}", tokens.repository(name, tokens.PULL))
    if blob.status_code != 200:
        return digest, ""
    return digest, str(blob.json().get("created") or "")
