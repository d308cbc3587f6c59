"""Where a build's context comes from: an uploaded .tar.gz (checked before it is accepted) or a Git
repository (checked before it is cloned, cloned with `git` within the same limits as an upload and a
time limit)."""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import ipaddress
import os
import posixpath
import socket
import subprocess
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.errors import ApplicationError

CONTEXT_TOO_LARGE = "context_too_large"
BAD_CONTEXT = "bad_context"
SOURCE_NOT_ALLOWED = "source_not_allowed"


def _refuse(message: str, *, code: str = BAD_CONTEXT, field: str = "context", status: int = 400) -> ApplicationError:
    return ApplicationError(message, code=code, field=field, status=status)


def _inside(name: str) -> bool:
    """Whether a path in the archive stays inside the context (no absolute path, no `..` out of it)."""
    if name.startswith("/") or "\\" in name:
        return False
    normal = posixpath.normpath(name)
    return normal != ".." and not normal.startswith("../")


# Long names and extended (PAX) headers are read whole into memory; real ones are a few hundred bytes.
HEADER_MAX_BYTES = 64 * 1024
_READ_WHOLE = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


class _Member(tarfile.TarInfo):
    """A member header, refused before tarfile acts on it when it would cost without bound: this Python's
    tarfile takes a negative (base-256) size, which sends it back to the same header forever, and reads a
    long name or extended header whole, however large its header says it is."""

    def _proc_member(self, archive):
        if self.size < 0:
            raise _refuse(f"“{self.name}” has a negative size; the archive is damaged.")
        if self.type in _READ_WHOLE and self.size > HEADER_MAX_BYTES:
            raise _refuse(f"The archive holds a {self.size}-byte name or extended header; at most {HEADER_MAX_BYTES}.")
        return super()._proc_member(archive)  # type: ignore[misc]  # tarfile's own, not in its stubs


def _members(data: bytes):
    """The members of a gzipped tar, read as a stream (never unpacked to disk), within the limits of
    BUILD_CONTEXT_MAX_UNPACKED_BYTES (all of it, headers included) and BUILD_CONTEXT_MAX_FILES."""
    limit, files = settings.BUILD_CONTEXT_MAX_UNPACKED_BYTES, settings.BUILD_CONTEXT_MAX_FILES
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz", tarinfo=_Member) as archive:
            for count, member in enumerate(archive, start=1):
                if count > files:
                    raise _refuse(f"The context holds more than {files} files.", code=CONTEXT_TOO_LARGE)
                # Where the stream is after this member's data: everything it unpacks to so far, headers included.
                if archive.offset > limit:
                    raise _refuse(f"The context unpacks to more than {limit} bytes.", code=CONTEXT_TOO_LARGE)
                yield member
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError, ValueError, zlib.error):
        raise _refuse("The context is not a .tar.gz archive.") from None


def context_check(data: bytes) -> None:
    """Refuse an uploaded context that is too large, not a gzipped tar, or has a member (file, hard
    link or symbolic link) that points outside the context. Nothing is unpacked to disk."""
    if len(data) > settings.BUILD_CONTEXT_MAX_BYTES:
        raise _refuse(
            f"The context is {len(data)} bytes; builds accept at most {settings.BUILD_CONTEXT_MAX_BYTES}.",
            code=CONTEXT_TOO_LARGE,
            status=413,
        )
    for member in _members(data):
        if not _inside(member.name):
            raise _refuse(f"“{member.name}” is outside the build context; paths must stay inside it.")
        if member.issym() and not _inside(posixpath.join(posixpath.dirname(member.name), member.linkname)):
            raise _refuse(f"The link “{member.name}” points outside the build context ({member.linkname}).")
        if member.islnk() and not _inside(member.linkname):
            raise _refuse(f"The link “{member.name}” points outside the build context ({member.linkname}).")
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            raise _refuse(f"“{member.name}” is a device or pipe; a build context holds files and folders.")


def has_file(data: bytes, path: str) -> bool:
    """Whether the context holds a regular file at `path` (the Dockerfile)."""
    wanted = posixpath.normpath(path)
    return any(posixpath.normpath(m.name) == wanted and (m.isfile() or m.islnk()) for m in _members(data))


# --- Git -------------------------------------------------------------------------------------------


def _loopback_or_private(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False  # not resolvable here: the clone will say so
    return any(
        (ip := ipaddress.ip_address(address)).is_loopback or ip.is_private or ip.is_link_local for address in addresses
    )


def _host_allowed(host: str) -> bool:
    for allowed in settings.BUILD_GIT_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def repository_check(url: str, ref: str) -> None:
    """Only https:// from the operator's allowed hosts, never a loopback or private address (tests may
    also clone file:// repositories), and never with credentials in it: the URL is kept on the build,
    which every member sees, and written to its log. The ref must not look like an option to git."""
    if not ref or ref.startswith("-") or any(ch.isspace() for ch in ref):
        raise _refuse("Give the branch, tag or commit to build, for example main.", field="ref")
    parts = urlsplit(url)
    if settings.BUILD_GIT_ALLOW_LOCAL and parts.scheme == "file":
        return
    if parts.scheme != "https" or not parts.hostname:
        raise _refuse(
            "Give the repository as an https:// URL, for example https://github.com/acme/shop.git.",
            code=SOURCE_NOT_ALLOWED,
            field="repository_url",
        )
    if parts.username or parts.password:
        raise _refuse(
            "Give the repository's URL without a user name or token in it: every member who can see the "
            "build sees its URL.",
            code=SOURCE_NOT_ALLOWED,
            field="repository_url",
        )
    host = parts.hostname.lower()
    if not settings.BUILD_GIT_ALLOW_LOCAL and (not _host_allowed(host) or _loopback_or_private(host)):
        allowed = ", ".join(settings.BUILD_GIT_HOSTS) or "none"
        raise _refuse(
            f"Builds do not clone from {host}; the operators allow these hosts: {allowed}.",
            code=SOURCE_NOT_ALLOWED,
            field="repository_url",
        )


class CloneFailed(Exception):
    """The repository could not be cloned; the message says why, without credentials."""


def _disk_use(folder: Path) -> int:
    used = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):  # git renamed or removed it meanwhile
                used += os.lstat(Path(root) / name).st_size
    return used


def _git(command: list[str], *, env: dict, url: str, ref: str, timeout: float, workspace: Path, max_bytes: int) -> str:
    """Run git until it ends, the deadline passes, or what it wrote in the workspace passes max_bytes
    (looked at five times a second: a repository's pack can be any size). Its output, or CloneFailed."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    too_large = CloneFailed(f"{ref} of {url} is larger than builds accept: more than {max_bytes} bytes to fetch.")
    while True:
        try:
            out, err = process.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                failure = CloneFailed(f"Cloning {url} took longer than {timeout:.0f} seconds.")
            elif _disk_use(workspace) > max_bytes:
                failure = too_large
            else:
                continue
            process.kill()
            process.communicate()
            raise failure from None
    if _disk_use(workspace) > max_bytes:  # written faster than the first look
        raise too_large
    if process.returncode != 0:
        detail = err.strip().splitlines()[-1:] or ["git failed"]
        raise CloneFailed(f"Could not fetch {ref} from {url}: {detail[0]}")
    return out


def _tree_within_limits(checkout: Path, *, env: dict, url: str, ref: str) -> None:
    """What checking out would write, read from the tree before anything is written: the upload's limits
    on unpacked bytes and files hold for a repository too (a few kilobytes of trees can name the same
    large blob a million times)."""
    limit, files = settings.BUILD_CONTEXT_MAX_UNPACKED_BYTES, settings.BUILD_CONTEXT_MAX_FILES
    command = ["git", "-C", str(checkout), "ls-tree", "-r", "-l", "-z", "FETCH_HEAD"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    listing = process.stdout
    assert listing is not None  # stdout=PIPE
    total = count = 0
    rest = b""
    try:
        while chunk := listing.read(65536):
            *entries, rest = (rest + chunk).split(b"\0")
            for entry in entries:
                size = entry.split(b"\t", 1)[0].split()[-1]
                total += int(size) if size.isdigit() else 0  # a submodule has no size
                count += 1
            if total > limit:
                raise CloneFailed(f"{ref} of {url} holds more than {limit} bytes; builds accept at most that.")
            if count > files:
                raise CloneFailed(f"{ref} of {url} holds more than {files} files; builds accept at most that.")
    finally:
        process.kill()
        process.wait()


def clone_context(url: str, ref: str, timeout: float) -> bytes:
    """Clone `ref` of the repository (shallow where git allows) and return it as a .tar.gz context,
    without its .git folder, within the limits of an uploaded one. Nothing stays on disk."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    protocols = "file:https" if settings.BUILD_GIT_ALLOW_LOCAL else "https"
    env["GIT_ALLOW_PROTOCOL"] = protocols
    with tempfile.TemporaryDirectory(prefix="portal-build-") as workspace:
        checkout = Path(workspace) / "src"
        git = functools.partial(_git, env=env, url=url, ref=ref, timeout=timeout, workspace=Path(workspace))
        fetched = settings.BUILD_CONTEXT_MAX_BYTES
        git(["git", "init", "-q", str(checkout)], max_bytes=fetched)
        git(["git", "-C", str(checkout), "fetch", "-q", "--depth", "1", "--", url, ref], max_bytes=fetched)
        _tree_within_limits(checkout, env=env, url=url, ref=ref)
        unpacked = fetched + settings.BUILD_CONTEXT_MAX_UNPACKED_BYTES
        git(["git", "-C", str(checkout), "checkout", "-q", "FETCH_HEAD"], max_bytes=unpacked)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for entry in sorted(checkout.iterdir()):
                if entry.name != ".git":
                    archive.add(entry, arcname=entry.name)
        if buffer.tell() > settings.BUILD_CONTEXT_MAX_BYTES:
            raise CloneFailed(
                f"{ref} of {url} packs to {buffer.tell()} bytes; builds accept at most {settings.BUILD_CONTEXT_MAX_BYTES}."
            )
        return buffer.getvalue()
