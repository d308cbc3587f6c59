"""Cluster registration, encrypted credentials, and a connectivity check that explains failures."""

import http.server
import socket
import threading

import pytest
import yaml
from django.db import connection

from apps.clusters.models import Cluster
from apps.clusters.namespaces import namespace_manifests
from apps.clusters.services import SANDBOX_NOT_ALLOWED, cluster_check, cluster_register
from apps.core.errors import ApplicationError
from apps.tenants.models import Quota
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-token-that-must-never-leak"


def kubeconfig(*contexts, server="https://k8s.example.com"):
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": TOKEN}}],
            "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
        }
    )


def test_credentials_are_encrypted_at_rest_and_never_returned(world, api):
    cluster = cluster_register(
        operator=world.operator_principal,
        name="prod-eu",
        auth_method="token",
        api_url="https://k8s.example.com",
        credentials={"token": TOKEN},
    )
    assert cluster.credentials["token"] == TOKEN
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM clusters_cluster")
        assert TOKEN not in cursor.fetchone()[0]
    body = api.as_user(world.operator).get("/api/v1/operator/clusters/prod-eu/").content.decode()
    assert TOKEN not in body and '"has_credentials":true' in body


def test_kubeconfig_problems_are_clear(world):
    with pytest.raises(ApplicationError, match="not valid YAML"):
        cluster_register(
            operator=world.operator_principal,
            name="a",
            auth_method="kubeconfig",
            credentials={"kubeconfig": "clusters: [unclosed"},
        )
    with pytest.raises(ApplicationError, match="choose one of: blue, green") as several:
        cluster_register(
            operator=world.operator_principal,
            name="b",
            auth_method="kubeconfig",
            credentials={"kubeconfig": kubeconfig("blue", "green")},
        )
    assert several.value.field == "context"
    cluster = cluster_register(
        operator=world.operator_principal,
        name="c",
        auth_method="kubeconfig",
        credentials={"kubeconfig": kubeconfig("blue", "green"), "context": "green"},
    )
    assert cluster.credentials["context"] == "green"


def test_only_operators_register_clusters(world, api):
    response = api.as_user(world.user("owner")).post(
        "/api/v1/operator/clusters/",
        {"name": "x", "auth_method": "sandbox", "api_url": "http://127.0.0.1:1"},
        format="json",
    )
    assert response.status_code == 403
    assert not Cluster.objects.exists()


def test_sandbox_clusters_are_refused_where_the_setting_is_off(world, api, settings):
    settings.SANDBOX_CLUSTERS_ALLOWED = False
    response = api.as_user(world.operator).post(
        "/api/v1/operator/clusters/",
        {"name": "x", "auth_method": "sandbox", "api_url": "http://127.0.0.1:1"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": SANDBOX_NOT_ALLOWED,
        "fields": {"auth_method": [SANDBOX_NOT_ALLOWED]},
    }
    assert not Cluster.objects.exists()
    settings.SANDBOX_CLUSTERS_ALLOWED = True
    cluster = cluster_register(
        operator=world.operator_principal, name="x", auth_method="sandbox", api_url="http://127.0.0.1:1"
    )
    assert cluster.auth_method == "sandbox"


def test_the_first_cluster_becomes_the_default(world):
    first = cluster_register(
        operator=world.operator_principal, name="one", auth_method="sandbox", api_url="http://127.0.0.1:1"
    )
    second = cluster_register(
        operator=world.operator_principal, name="two", auth_method="sandbox", api_url="http://127.0.0.1:2"
    )
    first.refresh_from_db()
    assert first.is_default and not second.is_default


class _Refuser(http.server.BaseHTTPRequestHandler):
    status = 401

    def do_GET(self):
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"kind":"Status","status":"Failure","message":"nope","code":%d}' % self.status)

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_server():
    def start(status):
        handler = type("Handler", (_Refuser,), {"status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    servers = []
    yield start
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize("status, words", [(401, "401 Unauthorized"), (403, "403 Forbidden")])
def test_check_names_auth_failures(world, refusing_server, status, words):
    cluster = cluster_register(
        operator=world.operator_principal,
        name=f"c{status}",
        auth_method="token",
        api_url=refusing_server(status),
        credentials={"token": TOKEN},
    )
    result = cluster_check(cluster=cluster)
    assert result["ok"] is False and result["error"].startswith(words)
    cluster.refresh_from_db()
    assert cluster.last_check["error"].startswith(words) and cluster.last_checked_at


def test_check_names_a_refused_connection_and_a_timeout(world):
    closed = cluster_register(
        operator=world.operator_principal,
        name="closed",
        auth_method="sandbox",
        api_url=f"http://127.0.0.1:{free_port()}",
    )
    assert cluster_check(cluster=closed)["error"].startswith("Connection refused")

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never answers
    try:
        hung = cluster_register(
            operator=world.operator_principal,
            name="hung",
            auth_method="sandbox",
            api_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
        )
        assert cluster_check(cluster=hung, timeout=(1, 1))["error"].startswith("Timeout")
    finally:
        silent.close()


def test_check_names_dns_failures(world):
    cluster = cluster_register(
        operator=world.operator_principal,
        name="nowhere",
        auth_method="sandbox",
        api_url="http://cluster.does-not-exist.invalid:6443",
    )
    assert cluster_check(cluster=cluster, timeout=(2, 2))["error"].startswith("DNS")


def test_namespace_objects_isolate_the_environment(world):
    prod = world.acme.environments.get(name="prod")
    quotas = [
        Quota(tenant=world.acme, environment=prod, resource="cpu", limit=2000),
        Quota(tenant=world.acme, environment=prod, resource="pods", limit=20),
    ]
    manifests = {m["kind"]: m for m in namespace_manifests(prod, quotas, ingress_namespace="ingress-nginx")}
    assert manifests["Namespace"]["metadata"]["name"] == "acme--prod"
    assert manifests["Namespace"]["metadata"]["labels"]["paas.dev/tenant"] == "acme"
    assert manifests["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert manifests["ResourceQuota"]["spec"]["hard"] == {"requests.cpu": "2000m", "limits.cpu": "2000m", "pods": "20"}
    policy = manifests["NetworkPolicy"]["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Ingress"]
    sources = policy["ingress"][0]["from"]
    assert {"podSelector": {}} in sources
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in sources
    assert all(m["metadata"].get("namespace", "acme--prod") == "acme--prod" for m in manifests.values())


@pytest.fixture
def self_signed_server(tmp_path):
    """An HTTPS server whose certificate nobody trusts."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "untrusted.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Refuser,), {"status": 200}))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_check_names_an_untrusted_certificate(world, self_signed_server):
    cluster = cluster_register(
        operator=world.operator_principal,
        name="tls",
        auth_method="token",
        api_url=self_signed_server,
        credentials={"token": TOKEN},
    )
    result = cluster_check(cluster=cluster, timeout=(2, 2))
    assert result["ok"] is False and result["error"].startswith("TLS"), result


def test_every_cluster_is_checked_on_a_schedule(world, refusing_server, settings):
    """Beat checks each registered cluster, so its health on the console is at most CLUSTER_CHECK_EVERY old."""
    from apps.clusters.tasks import check_clusters

    assert settings.CELERY_BEAT_SCHEDULE["clusters-check"]["task"] == "apps.clusters.tasks.check_clusters"
    refused = cluster_register(
        operator=world.operator_principal,
        name="refused",
        auth_method="token",
        api_url=refusing_server(403),
        credentials={"token": TOKEN},
    )
    closed = cluster_register(
        operator=world.operator_principal,
        name="closed",
        auth_method="sandbox",
        api_url=f"http://127.0.0.1:{free_port()}",
    )
    check_clusters()
    for cluster, words in ((refused, "403 Forbidden"), (closed, "Connection refused")):
        cluster.refresh_from_db()
        assert cluster.last_checked_at and cluster.last_check["error"].startswith(words)
