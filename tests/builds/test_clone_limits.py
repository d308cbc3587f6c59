"""A build cloned from a repository is held to the limits of an uploaded context: what git fetches, what
checking out would write (read from the tree before anything is written) and the context it packs to.
Real git, against repositories made here."""

import io
import os
import subprocess
import tarfile

import pytest

from apps.builds.sources import CloneFailed, clone_context

GIT = ["-c", "user.email=dev@acme.test", "-c", "user.name=Dev", "-c", "init.defaultBranch=main"]


def repository(path, files: dict[str, bytes]) -> str:
    subprocess.run(["git", *GIT, "init", "-q", str(path)], check=True)
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    subprocess.run(["git", *GIT, "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", *GIT, "-C", str(path), "commit", "-qm", "first"], check=True)
    return f"file://{path}"


def bomb(path, *, blob: bytes, fanout: int, depth: int) -> str:
    """A few trees naming one blob fanout**depth times, committed without ever being written out."""

    def git(*args, data=None):
        return subprocess.run(
            ["git", *GIT, "-C", str(path), *args], input=data, capture_output=True, check=True
        ).stdout.strip()

    subprocess.run(["git", *GIT, "init", "-q", str(path)], check=True)
    entry = git("hash-object", "-w", "--stdin", data=blob).decode()
    mode = "100644"
    for _ in range(depth):
        listing = "".join(f"{mode} {'blob' if mode == '100644' else 'tree'} {entry}\tf{n}\n" for n in range(fanout))
        entry, mode = git("mktree", data=listing.encode()).decode(), "040000"
    commit = git("commit-tree", entry, "-m", "bomb").decode()
    git("update-ref", "refs/heads/main", commit)
    return f"file://{path}"


def names(context: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(context), mode="r:gz") as archive:
        return sorted(archive.getnames())


def test_a_repository_within_the_limits_is_packed_without_its_git_folder(tmp_path):
    url = repository(tmp_path / "shop", {"Dockerfile": b"FROM scratch\n", "src/app.txt": b"hello"})
    assert names(clone_context(url, "main", 60)) == ["Dockerfile", "src", "src/app.txt"]


def test_a_tree_naming_one_blob_many_times_is_refused_before_it_is_written(tmp_path, settings):
    settings.BUILD_CONTEXT_MAX_FILES = 1000
    url = bomb(tmp_path / "bomb", blob=b"x", fanout=20, depth=3)  # 8,000 files from three trees
    with pytest.raises(CloneFailed, match="holds more than 1000 files"):
        clone_context(url, "main", 60)

    settings.BUILD_CONTEXT_MAX_FILES = 100_000
    settings.BUILD_CONTEXT_MAX_UNPACKED_BYTES = 10 * 1024 * 1024
    url = bomb(tmp_path / "wide", blob=b"0" * 1024 * 1024, fanout=5, depth=3)  # 125 MiB from one blob
    with pytest.raises(CloneFailed, match=f"holds more than {10 * 1024 * 1024} bytes"):
        clone_context(url, "main", 60)


def test_a_repository_whose_fetch_outgrows_the_context_limit_is_stopped(tmp_path, settings):
    settings.BUILD_CONTEXT_MAX_BYTES = 256 * 1024
    url = repository(tmp_path / "big", {"blob.bin": os.urandom(4 * 1024 * 1024)})  # incompressible
    with pytest.raises(CloneFailed, match=f"larger than builds accept: more than {256 * 1024} bytes to fetch"):
        clone_context(url, "main", 60)
