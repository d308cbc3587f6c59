"""Fixtures shared by the whole suite: personas, a clean Redis key space, servers and workers."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.factories import PASSWORD, UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent


# --- Personas ----------------------------------------------------------------------------------


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def developer(db):
    return UserFactory(email="dev@example.com", full_name="Dana Developer")


@pytest.fixture
def operator(db):
    return UserFactory(email="ops@example.com", full_name="Olly Operator", is_staff=True)


@pytest.fixture
def outsider(db):
    return UserFactory(email="outsider@example.net", full_name="Otto Outsider")


# --- Tiers: a test that starts something slow carries its marker, so runs select tiers by marker ---

# A fixture that starts a browser, a worker, a cluster or a server marks every test that uses it,
# however indirectly; tests that start one in their body carry the marker themselves.
# `make test-fast` runs what is left: pure functions and database tests.
TIER_OF_FIXTURE = {
    "browser": "e2e",
    "celery_worker": "worker",
    "webhook_worker": "worker",  # asks for celery_worker only at run time
    "sandbox": "sandbox",
    "cluster": "sandbox",  # every fixture of that name is a sandbox cluster, or one registered
    "asgi_server": "server",
    "image_web": "server",
    "build_stack": "engine",
    "pg_server": "process",  # the add-on servers of tests/marketplace
    "redis_server": "process",
}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture in TIER_OF_FIXTURE.keys() & set(item.fixturenames):
            item.add_marker(TIER_OF_FIXTURE[fixture])


# --- Redis: each test starts with an empty key space of its own prefix ------------------------


def _flush_prefix():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.BUILD_QUEUE):
        client.delete(queue, f"{queue}\x06\x163", f"{queue}\x06\x166", f"{queue}\x06\x169")
    for pattern in (f"{prefix}:*", f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()


def _uses_redis(item) -> bool:
    """Whether a test can reach Redis: anything with the database runs Django code that caches, meters
    or broadcasts; a test without it is a pure function unless it says `@pytest.mark.redis`."""
    return bool(
        item.get_closest_marker("django_db")
        or item.get_closest_marker("redis")
        or {"db", "transactional_db"} & set(item.fixturenames)
    )


@pytest.fixture(autouse=True)
def clean_redis(request):
    """Tests that can reach Redis start with an empty key space; pure-function tests need no Redis."""
    if _uses_redis(request.node):
        _flush_prefix()
    yield


# --- The sandbox cluster -----------------------------------------------------------------------


@pytest.fixture
def sandbox_options():
    """Keyword arguments for the `sandbox` fixture's cluster; a directory overrides it where it needs more
    (the CLI's pods take a moment to become ready, as real ones do)."""
    return {}


@pytest.fixture
def sandbox(sandbox_options):
    """A sandbox cluster served over HTTP for the test, stopped after it."""
    from sandbox import SandboxCluster

    with SandboxCluster(**sandbox_options) as cluster:
        yield cluster


# --- Process helpers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_database_url() -> str:
    """A URL for the test database, for child processes (workers) that must see committed rows."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        host = quote(host, safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = db["USER"] + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def child_env(**overrides: str) -> dict:
    """The environment of a child process of the portal's (a web server, a worker) against the test
    database and this run's Redis prefix, with `overrides` on top."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": child_database_url(),
        "TEST_REDIS_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        **overrides,
    }


def wait_until_answers(*urls: str, timeout: float = 30) -> None:
    """Wait until a GET of each URL succeeds: the servers just started are serving."""

    def answering():
        try:
            return all(requests.get(url, timeout=5).ok for url in urls)
        except requests.RequestException:  # not listening yet, or still loading the application
            return False

    wait_for(answering, timeout=timeout, interval=0.2)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ask a child process to stop; kill it if it has not within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def serving_pool():
    """Database connections from a pool while a test serves the portal, as the web container's
    DATABASE_POOL_SIZE has them (portal/settings/base.py). Under ASGI each request's synchronous code
    runs in a thread of its own, so without one every request started a PostgreSQL backend and ended it:
    about a third of the server's time in the API fuzzing. This process's own connection comes from the
    pool meanwhile; afterwards the pool is closed and connections are made as before."""
    from django.db import connection

    options = connection.settings_dict["OPTIONS"]
    if "pool" in options or connection.settings_dict["CONN_MAX_AGE"] or connection.in_atomic_block:
        # A pool configured already, persistent connections (which Django refuses beside one), or a
        # transaction of this process's that closing its connection would end.
        yield
        return
    connection.close()
    options["pool"] = {"min_size": 1, "max_size": 8 + 1, "timeout": 10.0}  # the web's 8, and the test's own
    try:
        yield
    finally:
        connection.close()  # back to the pool, closed with it
        connection.close_pool()
        del options["pool"]


@pytest.fixture
def asgi_server(transactional_db, serving_pool):
    """The real ASGI application (HTTP + WebSocket) served by uvicorn in a thread of this process, its
    requests sharing a pool of database connections as the web container's do.

    Running in-process lets tests read the locmem outbox and share the test database.
    """
    import uvicorn
    from channels.layers import channel_layers

    from portal.asgi import application

    # A fresh channel layer per server: a receive still blocked (up to the layer's socket timeout) on
    # the previous server's stopped event loop would otherwise refuse this server's consumers ("two
    # event loops are trying to receive()"), and their pages would show "reconnecting".
    channel_layers.backends.clear()
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    channel_layers.backends.clear()


def image_command() -> list[str]:
    """The web command of the image, as the Dockerfile's CMD gives it."""
    text = (BASE_DIR / "deploy" / "Dockerfile").read_text()
    cmd = re.findall(r"^CMD (\[.*?\])\s*$", text.replace("\\\n", " "), re.MULTILINE | re.DOTALL)[-1]
    return json.loads(cmd)


@pytest.fixture
def image_web(transactional_db):
    """Starts the web process the way the image runs it (its CMD, uvicorn in a process of its own) against
    the test database, with the given environment on top; returns its base URL."""
    procs = []

    def start(**env_overrides: str) -> str:
        port = free_port()
        argv = image_command()
        argv[0] = sys.executable
        argv[argv.index("--host") + 1], argv[argv.index("--port") + 1] = "127.0.0.1", str(port)
        env = child_env(LOG_LEVEL="WARNING", **env_overrides)
        env.pop("FORWARDED_ALLOW_IPS", None)
        procs.append(
            subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{base}/healthz")
        return base

    yield start
    for proc in procs:
        stop_process(proc)


def start_worker(log_path, concurrency=None, **env_overrides) -> subprocess.Popen:
    """Start a real Celery worker process on this run's queues (the default and the builds'), against the test database and Redis, and
    wait until it is ready. Extra environment (another REDIS_URL, say) and a prefork pool of
    `concurrency` processes on request; the caller terminates it (tests that restart workers call this
    directly, the rest use the celery_worker fixture)."""
    log = Path(log_path)
    # Its "ready." is logged at INFO, and `make bench` sets WARNING.
    env = child_env(PYTHONUNBUFFERED="1", LOG_LEVEL="INFO", **env_overrides)
    pool = ["--pool", "prefork", "--concurrency", str(concurrency)] if concurrency else ["--pool", "solo"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                *pool,
                "--loglevel",
                "INFO",
                "--queues",
                f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.BUILD_QUEUE}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    # Returns as soon as the worker is ready; a loaded machine (parallel test processes) can take a while.
    deadline = time.monotonic() + 120
    while "ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    proc.log = log
    return proc


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Settings the celery_worker fixture's worker runs with, as its environment: a module overrides this
    fixture for a worker that, say, retries sooner or looks at rollouts less often."""
    return {}


@pytest.fixture
def celery_worker(transactional_db, tmp_path, worker_settings):
    """A real Celery worker process for the test, stopped after it."""
    proc = start_worker(tmp_path / "worker.log", **worker_settings)
    yield proc
    stop_process(proc, timeout=15)


# A static shell: FROM scratch images have nothing else, and no base image can be pulled here.
BUSYBOX = Path("/usr/bin/busybox")


@pytest.fixture(scope="session")
def build_stack():
    """The configured engine and registry (DOCKER_HOST and REGISTRY_URL), else dockerd and the registry
    started under var/ for this run (joined when `make run` already started them)."""
    from apps.builds.tokens import certificate_bundle
    from portal.buildstack import BuildStack, TokenAuth, missing_binaries, start_build_stack

    if os.environ.get("DOCKER_HOST") and os.environ.get("REGISTRY_URL"):
        stack = BuildStack(os.environ["DOCKER_HOST"], os.environ["REGISTRY_URL"])
    else:
        missing = missing_binaries()
        if missing:
            pytest.skip(f"{' and '.join(missing)} not installed (apt-get install docker.io docker-registry)")
        # The registry trusts the portal's tokens, as `make run` starts it.
        token = TokenAuth(
            realm=settings.REGISTRY_TOKEN_REALM,
            service=settings.REGISTRY_TOKEN_SERVICE,
            issuer=settings.REGISTRY_TOKEN_ISSUER,
            certificates=certificate_bundle(),
        )
        var = Path(os.environ.get("PORTAL_VAR_DIR") or BASE_DIR / "var").resolve()
        stack = start_build_stack(var, token)
        # Retention's garbage collection runs over this registry's storage, in a read-only window.
        os.environ["REGISTRY_GC_COMMAND"] = f"{sys.executable} -m portal.buildstack collect-garbage {var}"
        settings.REGISTRY_GC_COMMAND = os.environ["REGISTRY_GC_COMMAND"]
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed (apt-get install busybox-static)")
    # Worker processes started from here on inherit them; this process reads them from settings.
    os.environ["DOCKER_HOST"], os.environ["REGISTRY_URL"] = stack.docker_host, stack.registry_url
    settings.DOCKER_HOST, settings.REGISTRY_URL = stack.docker_host, stack.registry_url
    return stack


def wait_for(predicate, timeout=15.0, interval=0.1):
    """Poll until predicate() is truthy; return its value or fail with the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


# --- The test database: cloned from a migrated template instead of migrated in every process ---------

# Running every migration takes seconds of CPU, and `make test` starts several processes, each with its
# own test database. The first process to need a migration state builds a template database for it
# (`manage.py migrate` into a database of its own, renamed when complete; an advisory lock on the
# server makes the others wait for it) and every test database is then created from that template.
# The name carries a digest of the migrations and the pinned requirements, so a changed migration gets
# a new template; Django's migrate still runs on the clone and finds nothing to apply.


def _migration_digest() -> str:
    import hashlib

    digest = hashlib.sha256()
    files = sorted(BASE_DIR.glob("apps/*/migrations/*.py")) + [BASE_DIR / "requirements.txt"]
    for path in files:
        digest.update(str(path.relative_to(BASE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _server_url(db: dict, name: str) -> str:
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        host = quote(host, safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}{port}/{name}"


def _migrated_template(db: dict) -> str:
    import psycopg

    template = f"test_{db['NAME']}_template_{_migration_digest()}"
    with psycopg.connect(_server_url(db, "postgres"), autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext('portal test template'))")
        try:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
                return template
            building = f"{template}_building"
            admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
            admin.execute(f'CREATE DATABASE "{building}"')
            env = {**os.environ, "DATABASE_URL": _server_url(db, building)}
            env["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
            migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
            result = subprocess.run(migrate, cwd=BASE_DIR, env=env, capture_output=True, text=True)
            if result.returncode:
                admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
                raise RuntimeError(f"migrating the template test database failed:\n{result.stderr}")
            admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            return template
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext('portal test template'))")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.db import connections

    db = settings.DATABASES["default"]
    if connections["default"].vendor == "postgresql" and not db["TEST"].get("TEMPLATE"):
        db["TEST"]["TEMPLATE"] = _migrated_template(db)


# --- Transactional tests: emptied as Django empties them, without re-running post_migrate each time ---

# After a transactional test Django's flush TRUNCATEs every table and then emits post_migrate, whose
# handlers put back the content types, the permissions and the built-in CI types: hundreds of queries,
# more than most of those tests cost themselves. Their result is the same rows every time, so the first
# flush of a run is Django's own and the rows it leaves are kept; every later flush empties the same
# tables and writes those rows back with COPY. The database a test starts from is the same either way.
# Emptying is a DELETE of each table that has rows, under the lock TRUNCATE takes, in one transaction
# whose foreign-key checks wait for its end: a TRUNCATE of every table gives each of them and their
# indexes new files, about 600 ms on an idle machine, where the DELETEs take about 15. A table whose
# triggers refuse DELETE (the append-only audit trail) is truncated instead, on its own.
_rows_after_flush: dict[str, list[tuple[str, bytes]]] = {}


def _copy_rows(alias: str) -> list[tuple[str, bytes]]:
    from django.db import connections

    conn = connections[alias]
    quote_name = conn.ops.quote_name
    rows = []
    with conn.cursor() as cursor:
        for table in sorted(conn.introspection.django_table_names(only_existing=True, include_views=False)):
            with cursor.copy(f"COPY {quote_name(table)} TO STDOUT") as copy:
                data = b"".join(bytes(block) for block in copy)
            if data:
                rows.append((table, data))
    return rows


# Tables with a trigger of the project's own on DELETE (tgtype bit 3), which a DELETE would set off.
_TABLES_GUARDING_DELETE = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND t.tgtype & 8 <> 0 AND pg_table_is_visible(c.oid)
"""


def _flush_and_restore(alias: str) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections, transaction

    conn = connections[alias]
    quote_name = conn.ops.quote_name
    tables = sorted(conn.introspection.django_table_names(only_existing=True, include_views=False))
    with transaction.atomic(using=alias, savepoint=conn.features.can_rollback_ddl):
        with conn.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            # As TRUNCATE would: wait for the transactions still open on these tables (a server thread's,
            # say) to end, so that no row they commit is left for the next test.
            cursor.execute(f"LOCK TABLE {', '.join(map(quote_name, tables))} IN ACCESS EXCLUSIVE MODE")
            cursor.execute("SELECT " + ", ".join(f"EXISTS (SELECT FROM {quote_name(table)})" for table in tables))
            filled = [table for table, has_rows in zip(tables, cursor.fetchone(), strict=True) if has_rows]
            cursor.execute(_TABLES_GUARDING_DELETE)
            guarded = {name for (name,) in cursor.fetchall()}
            for table in filled:
                verb = "TRUNCATE" if table in guarded else "DELETE FROM"
                cursor.execute(f"{verb} {quote_name(table)}")
            for table, data in _rows_after_flush[alias]:
                with cursor.copy(f"COPY {quote_name(table)} FROM STDIN") as copy:
                    copy.write(data)
    ContentType.objects.clear_cache()


def _install_fast_flush() -> None:
    from django.test import TransactionTestCase

    stock = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):
        aliases = list(self._databases_names(include_mirrors=False))
        if self.available_apps is not None or self.serialized_rollback:
            return stock(self)  # flushes that skip post_migrate or keep data: Django's own
        if any(alias not in _rows_after_flush for alias in aliases):
            stock(self)
            for alias in aliases:
                _rows_after_flush[alias] = _copy_rows(alias)
            return
        for alias in aliases:
            _flush_and_restore(alias)

    TransactionTestCase._fixture_teardown = _fixture_teardown


_install_fast_flush()


@pytest.fixture(scope="session", autouse=True)
def close_stray_connections(django_db_setup, django_db_blocker):
    """Connections opened by server threads and async consumers outlive their tests; end them so the
    test database can be dropped cleanly at the end of the run."""
    yield
    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # no test of this run needed the database, so pytest-django set up none
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def world(db):
    """Tenants acme and globex with an owner, admin, developer and viewer each, and an operator."""
    from tests.personas import world_for_test

    return world_for_test()


@pytest.fixture
def api():
    """A DRF client; `api.as_user(u)` signs in by session, `api.with_key(k)` sends a bearer key."""
    from rest_framework.test import APIClient

    class PortalAPIClient(APIClient):
        def as_user(self, user):
            self.force_authenticate(None)
            self.credentials()
            self.force_login(user)
            return self

        def with_key(self, key):
            self.logout()
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            return self

    return PortalAPIClient()
