"""Applications and releases for deployment tests, and the sandbox cluster registered as the default."""

import pytest

from apps.catalog.models import Application, Release


def make_app(tenant, name="web", kind="web", **fields):
    return Application.objects.get_or_create(tenant=tenant, name=name, defaults={"component_kind": kind, **fields})[0]


def make_release(app, image="registry.example/web:1.0", **fields):
    number = (app.releases.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    defaults = {"ports": [{"name": "http", "port": 8080}] if app.component_kind == "web" else [],
                "replicas": 2, "cpu_request": "100m", "memory_request": "128Mi"}
    return Release.objects.create(tenant=app.tenant, application=app, number=number, image=image,
                                  **{**defaults, **fields})


@pytest.fixture
def sandbox():
    from sandbox import SandboxCluster

    with SandboxCluster() as cluster:
        yield cluster


def start_worker(log_path, concurrency=None, **env_overrides):
    """A real Celery worker process like tests/conftest.py's, startable more than once in a test; extra
    environment (another REDIS_URL, say) and a prefork pool of `concurrency` processes on request."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.conf import settings

    from tests.conftest import BASE_DIR, child_database_url

    log = Path(log_path)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test",
           "DATABASE_URL": child_database_url(), "TEST_REDIS_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
           "PYTHONUNBUFFERED": "1", **env_overrides}
    pool = ["--pool", "prefork", "--concurrency", str(concurrency)] if concurrency else ["--pool", "solo"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", *pool, "--loglevel", "INFO",
             "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while "ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return proc


def registered(world, sandbox):
    """The sandbox as the default cluster, every environment placed on it and provisioned."""
    from apps.clusters.models import Placement
    from apps.clusters.services import cluster_register
    from tests.conftest import wait_for

    cluster_register(operator=world.operator, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    wait_for(lambda: Placement.objects.filter(provisioned_at__isnull=False).count() == 6, timeout=30)
