"""A local Docker engine and image registry for builds, under var/, when none is configured.

`make run` (and the test suite, through a session fixture) call `start_build_stack()` when
DOCKER_HOST / REGISTRY_URL are unset. It starts Debian's `dockerd` (no iptables, no bridge: builds
need no network of their own) and `docker-registry` with their data, sockets and configuration in
var/docker and var/registry, or joins the ones an earlier command started. The last command to leave
stops them; images and registry data stay for the next run.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DOCKERD = "dockerd"
REGISTRY = "docker-registry"
# Debian's packages; `.ci/run` installs them the same way.
HOW_TO_INSTALL = "apt-get install docker.io docker-registry"


class BuildStackError(Exception):
    """The engine or the registry did not start; the message says where to look."""


@dataclass(frozen=True)
class BuildStack:
    docker_host: str
    registry_url: str


@dataclass(frozen=True)
class TokenAuth:
    """The registry's `auth.token`: where clients get tokens, the names tokens carry, and the PEM
    certificate(s) of the keys that sign them (`manage.py registry_token_cert`)."""

    realm: str
    service: str
    issuer: str
    certificates: str


def missing_binaries() -> list[str]:
    return [name for name in (DOCKERD, REGISTRY) if shutil.which(name) is None]


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _docker_answers(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(1)
            conn.connect(str(sock))
            conn.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in conn.recv(64)
    except OSError:
        return False


def _registry_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"GET /v2/ HTTP/1.0\r\n\r\n")
            status = conn.recv(64)
            # 401: it answers, and wants a token first.
            return b" 200 " in status or b" 401 " in status
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _users(home: Path, *, join: bool) -> list[int]:
    """Add (join) or remove this process from the live users of the stack; return the others."""
    with open(home / "users.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users_file = home / "users"
        users = [int(p) for p in users_file.read_text().split()] if users_file.exists() else []
        others = [pid for pid in users if pid != os.getpid() and _alive(pid)]
        users_file.write_text(" ".join(map(str, others + ([os.getpid()] if join else []))))
        return others


def _wait(check, proc: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return check()


def _start_dockerd(home: Path) -> str:
    sock, pidfile = home / "docker.sock", home / "docker.pid"
    if _alive(_pid(pidfile)) and _docker_answers(sock):
        return f"unix://{sock}"
    # overlay2 where the kernel and file system allow it; vfs (slower, but works anywhere) otherwise.
    for driver in ("overlay2", "vfs"):
        with open(home / "dockerd.log", "ab") as log:
            proc = subprocess.Popen(
                [
                    DOCKERD,
                    "--iptables=false",
                    "--ip-masq=false",
                    "--bridge=none",
                    f"--storage-driver={driver}",
                    f"--data-root={home / 'data'}",
                    f"--exec-root={home / 'exec'}",
                    f"--pidfile={pidfile}",
                    f"--host=unix://{sock}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if _wait(lambda: _docker_answers(sock), proc, 30):
            return f"unix://{sock}"
        _stop(proc.pid)
    raise BuildStackError(f"dockerd did not start; see {home / 'dockerd.log'}")


def _registry_config(home: Path, port: int, token: TokenAuth | None) -> str:
    config = (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {home / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    if token is not None:
        config += (
            "auth:\n  token:\n"
            f"    realm: {token.realm}\n    service: {token.service}\n    issuer: {token.issuer}\n"
            f"    rootcertbundle: {home / 'token-certs.pem'}\n"
        )
    return config


def _start_registry(home: Path, token: TokenAuth | None) -> str:
    """The registry, started again when it runs with other settings (token auth, trusted keys)."""
    pidfile, portfile, config = home / "registry.pid", home / "port", home / "config.yml"
    certificates = token.certificates if token is not None else ""
    port = _pid(portfile)
    if port and _alive(_pid(pidfile)) and _registry_answers(port):
        current = (home / "token-certs.pem").read_text() if (home / "token-certs.pem").exists() else ""
        if config.read_text() == _registry_config(home, port, token) and current == certificates:
            return f"http://127.0.0.1:{port}"
        _stop(_pid(pidfile))  # and start again on the same port: image references name it
    elif not (port and _port_free(port)):
        port = _free_port()
    (home / "token-certs.pem").write_text(certificates)
    config.write_text(_registry_config(home, port, token))
    _serve(home, config, port)
    portfile.write_text(str(port))
    return f"http://127.0.0.1:{port}"


def _serve(home: Path, config: Path, port: int) -> None:
    with open(home / "registry.log", "ab") as log:
        proc = subprocess.Popen(
            [REGISTRY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    if not _wait(lambda: _registry_answers(port), proc, 15):
        _stop(proc.pid)
        raise BuildStackError(f"docker-registry did not start; see {home / 'registry.log'}")
    (home / "registry.pid").write_text(str(proc.pid))


def collect_garbage(var: Path) -> str:
    """Free the blobs no manifest uses any more: the registry serves read-only (pulls go on, pushes
    wait) while `garbage-collect` runs over its storage, then writable again. Returns the command's report."""
    home = var / "registry"
    config, readonly = home / "config.yml", home / "config-readonly.yml"
    port = _pid(home / "port")
    if port is None or not config.exists():
        raise BuildStackError(f"no registry was started under {home}")
    text = config.read_text()
    readonly.write_text(
        text.replace("  delete:\n", "  maintenance:\n    readonly:\n      enabled: true\n  delete:\n", 1)
    )
    with open(var / "docker" / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _stop(_pid(home / "registry.pid"))
        _serve(home, readonly, port)
        try:
            report = subprocess.run(
                [REGISTRY, "garbage-collect", "--delete-untagged", str(config)],
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            _stop(_pid(home / "registry.pid"))
            _serve(home, config, port)
    if report.returncode != 0:
        raise BuildStackError(f"garbage-collect failed: {report.stderr.strip() or report.stdout.strip()}")
    return report.stdout


def _stop(pid: int | None) -> None:
    if not _alive(pid):
        return
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _leave(var: Path) -> None:
    if _users(var / "docker", join=False):
        return
    _stop(_pid(var / "registry" / "registry.pid"))
    _stop(_pid(var / "docker" / "docker.pid"))
    _unmount(var / "docker")


def _unmount(home: Path) -> None:
    """dockerd bind-mounts its data root (and its exec root) onto itself and can leave them mounted when
    it stops; a stale mount keeps var/ from being removed, so take them down."""
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(home))]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", point], capture_output=True)


def start_build_stack(var: Path, token: TokenAuth | None = None) -> BuildStack:
    """Start (or join) dockerd and the registry under `var`; the last user to exit stops them."""
    docker_home, registry_home = var / "docker", var / "registry"
    docker_home.mkdir(parents=True, exist_ok=True)
    registry_home.mkdir(parents=True, exist_ok=True)
    # One starter at a time, so two commands starting together do not both start a daemon.
    with open(docker_home / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _users(docker_home, join=True)
        atexit.register(_leave, var)
        return BuildStack(docker_host=_start_dockerd(docker_home), registry_url=_start_registry(registry_home, token))


if __name__ == "__main__":  # python -m portal.buildstack collect-garbage <var>: what REGISTRY_GC_COMMAND runs
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "collect-garbage":
        sys.exit("usage: python -m portal.buildstack collect-garbage <var directory>")
    print(collect_garbage(Path(sys.argv[2])).strip().splitlines()[-1:] or "nothing to collect")
