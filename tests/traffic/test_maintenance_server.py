"""The maintenance server's configuration, served by a real nginx (Debian's, as the image runs it):
503 with the escaped page and Retry-After for a route in maintenance, 200 with the fallback for a
degraded path, hosts and paths told apart, and nothing else served."""

import http.client
import os
import shutil
import socket
import subprocess
import time
from types import SimpleNamespace

import pytest

from apps.traffic import maintenance
from apps.traffic.models import Route

pytestmark = [
    pytest.mark.process,
    pytest.mark.django_db,
]  # nginx; the suite's session clean-up needs the test database set up

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# What the image's own nginx.conf does around the files the portal mounts into conf.d.
MAIN = """
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {root}/client_temp;
    proxy_temp_path {root}/proxy_temp;
    fastcgi_temp_path {root}/fastcgi_temp;
    uwsgi_temp_path {root}/uwsgi_temp;
    scgi_temp_path {root}/scgi_temp;
    include {root}/conf.d/*.conf;
}}
"""


def _route(pk, host, path, **fields) -> Route:
    return Route(pk=pk, host=host, path=path, path_type=fields.pop("path_type", "prefix"), **fields)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """Start nginx on the rendered ConfigMap of a few routes; yields a GET function."""
    if not os.path.exists(NGINX):
        pytest.fail("nginx not found: install Debian's nginx-light (.ci/run does)")
    routes = [
        _route(
            1,
            "shop.acme-corp.com",
            "/api",
            maintenance=True,
            maintenance_message='Back at <b>noon</b> & "soon"',
            maintenance_retry_after_seconds=600,
        ),
        _route(2, "shop.acme-corp.com", "/recs", degraded=True, degraded_message="No recommendations today"),
        _route(3, "*.stores.acme-corp.com", "/checkout", path_type="exact", maintenance=True),
    ]
    environment = SimpleNamespace(tenant=SimpleNamespace(slug="acme"), name="dev", namespace="acme--dev")
    config_map = maintenance.render(environment, routes, image="nginx")[0]
    port = _free_port()
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    for key, text in config_map["data"].items():
        # Only where the pod mounts the ConfigMap and the port it listens on differ here.
        text = text.replace(maintenance.MOUNT, str(conf_d))
        (conf_d / key).write_text(text.replace(f"listen {maintenance.CONTAINER_PORT}", f"listen 127.0.0.1:{port}"))
    user = "user root;" if os.geteuid() == 0 else ""  # pytest's tmp directories are the owner's alone
    (tmp_path / "nginx.conf").write_text(MAIN.format(user=user, root=tmp_path))
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"nginx did not start: {output}")
                time.sleep(0.05)

        def get(host: str, path: str):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            body = response.read().decode()
            connection.close()
            return response.status, dict(response.getheaders()), body

        yield get
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_route_in_maintenance_answers_503_with_its_escaped_page_and_retry_after(served):
    for path in ("/api", "/api/orders/7"):
        status, headers, body = served("shop.acme-corp.com", path)
        assert status == 503
        assert headers["Retry-After"] == "600" and headers["Cache-Control"] == "no-store"
        assert headers["Content-Type"].startswith("text/html")
        assert "Back at &lt;b&gt;noon&lt;/b&gt; &amp; &quot;soon&quot;" in body and "<b>" not in body


def test_a_degraded_path_answers_200_with_its_fallback(served):
    status, headers, body = served("shop.acme-corp.com", "/recs/for/me")
    assert status == 200 and "No recommendations today" in body
    assert "Retry-After" not in headers and headers["Cache-Control"] == "no-store"


def test_hosts_and_exact_paths_are_told_apart(served):
    status, _, body = served("eu.stores.acme-corp.com", "/checkout")
    assert status == 503 and maintenance.DEFAULT_MAINTENANCE_MESSAGE in body
    assert served("eu.stores.acme-corp.com", "/checkout/pay")[0] == 404  # an exact route
    assert served("shop.acme-corp.com", "/other")[0] == 404  # never the image's welcome page
    assert served("other.example.com", "/api")[0] == 404
    status, _, body = served("10.0.0.7", "/healthz")  # the readiness probe, by the pod's address
    assert status == 200 and body == "ok\n"
