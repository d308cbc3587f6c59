"""The web process's requests share a pool of database connections when DATABASE_POOL_SIZE is set, as the
deploy manifests set it for the web: under ASGI each request's synchronous code runs in a thread of its
own, so without the pool every request starts a PostgreSQL backend of its own and ends it.

Over the real stack: uvicorn started with the image's own command line against the test database, the
backends serving it read from pg_stat_activity between requests."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml
from django.db import connection

from tests.conftest import BASE_DIR, child_database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def serve(image_web, pool_size: int) -> str:
    """The web process with this pool size, its connections named after it in pg_stat_activity."""
    return image_web(
        DATABASE_URL=f"{child_database_url()}?application_name=web-pool-{pool_size}",
        DATABASE_POOL_SIZE=str(pool_size),
    )


def backends(pool_size: int) -> set[int]:
    """The PostgreSQL backends connected to the test database for the web process of this pool size."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [f"web-pool-{pool_size}"],
        )
        return {pid for (pid,) in cursor.fetchall()}


def ready(base: str) -> None:
    """/readyz reads the database on every request."""
    answer = requests.get(f"{base}/readyz", timeout=30)
    assert "database" in answer.json()["checks"], answer.text


def test_the_pool_serves_request_after_request_from_the_same_backends(image_web):
    base = serve(image_web, 3)
    assert backends(3) == set()  # /healthz touches no database
    ready(base)
    first = backends(3)
    assert 1 <= len(first) <= 3
    for _ in range(20):
        ready(base)
        assert backends(3) == first  # kept open between requests and used again, none added


def test_more_requests_at_once_than_the_pool_holds_wait_for_a_connection(image_web):
    base = serve(image_web, 2)
    with ThreadPoolExecutor(8) as requests_at_once:
        answers = list(requests_at_once.map(lambda _: requests.get(f"{base}/readyz", timeout=60), range(24)))
    assert [answer.status_code for answer in answers] == [200] * 24
    assert 1 <= len(backends(2)) <= 2


def test_without_a_pool_no_connection_outlives_its_request(image_web):
    base = serve(image_web, 0)
    for _ in range(3):
        ready(base)
        # The server closes it once the response is sent, and the backend then exits: soon, not at once.
        wait_for(lambda: backends(0) == set(), timeout=5)


def test_as_deployed_the_web_shares_a_pool_and_the_other_processes_do_not():
    deploy = BASE_DIR / "deploy" / "kubernetes"

    def env_of(manifest: str) -> dict:
        containers = yaml.safe_load((deploy / manifest).read_text())["spec"]["template"]["spec"]["containers"]
        return {item["name"]: item.get("value") for item in containers[0].get("env", [])}

    assert env_of("web-deployment.yaml")["DATABASE_POOL_SIZE"] == "8"
    for manifest in ("worker-deployment.yaml", "beat-deployment.yaml", "lifecycle-deployment.yaml"):
        assert "DATABASE_POOL_SIZE" not in env_of(manifest), manifest
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]
    assert compose["web"]["environment"]["DATABASE_POOL_SIZE"] == "8"
    assert "DATABASE_POOL_SIZE" not in compose["worker"]["environment"]
