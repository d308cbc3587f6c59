"""The operator console's cluster pages, and each environment's placement on the tenant's page."""

import pytest
import yaml
from django.db import connection
from django.utils import timezone

from apps.clusters.models import Cluster, Placement
from apps.clusters.services import cluster_register
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-token-that-must-never-leak"
TOKEN_CLUSTER = {
    "name": "prod-eu",
    "auth_method": "token",
    "api_url": "https://k8s.example.com",
    "token": TOKEN,
    "ingress_namespace": "ingress-nginx",
}


def kubeconfig(*contexts):
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example.com"}}],
            "users": [{"name": "u", "user": {"token": "kube-user-token"}}],
            "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
        }
    )


def sandbox_cluster(world, name="eu", port=1):
    return cluster_register(
        operator=world.operator_principal, name=name, auth_method="sandbox", api_url=f"http://127.0.0.1:{port}"
    )


def stored_text(table):
    """Every stored row of the table as text, as someone reading the database would see it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {table}::text FROM {table}")
        return "\n".join(row[0] for row in cursor.fetchall())


def row_of(page, namespace):
    """The table row of the page that shows this namespace."""
    return next(row for row in page.split("<tr") if f"<code>{namespace}</code>" in row)


def test_non_staff_get_404_on_every_cluster_page(client, world):
    sandbox_cluster(world)
    client.force_login(world.user("admin"))
    for url in ["/operator/clusters/", "/operator/clusters/new/", "/operator/clusters/eu/"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/operator/clusters/new/", TOKEN_CLUSTER).status_code == 404
    assert client.post("/operator/clusters/eu/check/").status_code == 404
    assert list(Cluster.objects.values_list("name", "last_check")) == [("eu", {})]


def test_operator_reaches_clusters_from_the_navigation(client, world):
    client.force_login(world.operator)
    page = client.get("/operator/").content.decode()
    assert page.count('href="/operator/clusters/"') == 2  # the navbar's dropdown and the console's sub-nav
    listing = client.get("/operator/clusters/").content.decode()
    assert 'href="/operator/clusters/new/"' in listing and "Register a cluster" in listing


def test_a_registered_token_is_stored_encrypted_and_never_shown(client, world):
    client.force_login(world.operator)
    response = client.post("/operator/clusters/new/", TOKEN_CLUSTER)
    assert response.status_code == 302 and response["Location"] == "/operator/clusters/prod-eu/"
    assert Cluster.objects.get(name="prod-eu").credentials["token"] == TOKEN
    assert TOKEN not in stored_text("clusters_cluster") + stored_text("audit_auditevent")
    detail = client.get("/operator/clusters/prod-eu/").content.decode()
    assert "credentials stored, encrypted" in detail and TOKEN not in detail
    assert TOKEN not in client.get("/operator/clusters/").content.decode()


def test_the_form_offers_the_sandbox_only_where_the_setting_allows_it(client, world, settings):
    client.force_login(world.operator)
    assert '<option value="sandbox">' in client.get("/operator/clusters/new/").content.decode()
    settings.SANDBOX_CLUSTERS_ALLOWED = False
    page = client.get("/operator/clusters/new/").content.decode()
    assert '<option value="sandbox">' not in page and "embedded test cluster" not in page
    assert '<option value="token">' in page
    response = client.post(
        "/operator/clusters/new/",
        {"name": "sb", "auth_method": "sandbox", "api_url": "http://127.0.0.1:1", "ingress_namespace": "x"},
    )
    assert response.status_code == 400 and "auth_method" in response.context["form"].errors
    assert not Cluster.objects.exists()


def test_a_refused_form_keeps_the_error_on_its_field_and_drops_the_token(client, world):
    client.force_login(world.operator)
    response = client.post("/operator/clusters/new/", {**TOKEN_CLUSTER, "api_url": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert response.context["form"].errors["api_url"] == ["This kind of cluster needs its API URL."]
    assert "This kind of cluster needs its API URL." in page and TOKEN not in page
    assert not Cluster.objects.exists()


def test_a_kubeconfig_with_two_contexts_needs_one_chosen(client, world):
    client.force_login(world.operator)
    response = client.post(
        "/operator/clusters/new/",
        {
            "name": "two",
            "auth_method": "kubeconfig",
            "kubeconfig": kubeconfig("blue", "green"),
            "ingress_namespace": "ingress-nginx",
        },
    )
    assert response.status_code == 400
    message = "The kubeconfig has several contexts; choose one of: blue, green."
    assert response.context["form"].errors["context"] == [message]
    assert message in response.content.decode()
    response = client.post(
        "/operator/clusters/new/",
        {
            "name": "two",
            "auth_method": "kubeconfig",
            "kubeconfig": kubeconfig("blue", "green"),
            "context": "green",
            "ingress_namespace": "ingress-nginx",
        },
    )
    assert response.status_code == 302
    assert Cluster.objects.get(name="two").credentials["context"] == "green"


def test_fields_the_method_does_not_use_are_dropped(client, world):
    """With JavaScript off every field shows, so an API URL typed for another method must not stick."""
    client.force_login(world.operator)
    response = client.post(
        "/operator/clusters/new/", {**TOKEN_CLUSTER, "auth_method": "kubeconfig", "kubeconfig": kubeconfig("blue")}
    )
    assert response.status_code == 302
    cluster = Cluster.objects.get(name="prod-eu")
    assert cluster.api_url == "" and cluster.credentials["context"] == "blue"


def test_the_check_button_says_why_a_cluster_cannot_be_reached(client, world):
    sandbox_cluster(world, name="closed", port=free_port())
    client.force_login(world.operator)
    page = client.post("/operator/clusters/closed/check/", follow=True).content.decode()
    error = page.split('id="check-error">')[1].split("</dd>")[0]
    assert error.startswith("Connection refused")
    assert 'id="can-create-namespaces">unknown<' in page
    listing = client.get("/operator/clusters/").content.decode()
    assert "failed</span>" in listing and "Connection refused" in listing


def test_a_passing_check_shows_version_groups_and_permissions(client, world):
    cluster = sandbox_cluster(world)
    Cluster.objects.filter(pk=cluster.pk).update(
        last_checked_at=timezone.now(),
        last_check={
            "ok": True,
            "server_version": "v1.30.2",
            "api_groups": ["apps/v1", "core/v1"],
            "can_create_namespaces": True,
            "can_apply_workloads": None,
        },
    )
    client.force_login(world.operator)
    page = client.get("/operator/clusters/eu/").content.decode()
    assert 'id="server-version">v1.30.2<' in page and '<code class="d-inline-block me-2">apps/v1</code>' in page
    assert 'id="can-create-namespaces">yes<' in page and 'id="can-apply-workloads">unknown<' in page
    assert "ok</span>" in client.get("/operator/clusters/").content.decode()


def test_the_cluster_page_lists_the_environments_placed_on_it(client, world):
    cluster = sandbox_cluster(world)
    prod = world.acme.environments.get(name="prod")
    Placement.objects.create(environment=prod, cluster=cluster, last_error="namespaces is forbidden")
    client.force_login(world.operator)
    row = row_of(client.get("/operator/clusters/eu/").content.decode(), "acme--prod")
    assert 'href="/operator/tenants/acme/"' in row and "namespaces is forbidden" in row


def test_environments_show_where_they_are_provisioned(client, world):
    client.force_login(world.user("viewer"))
    page = client.get("/t/acme/environments/").content.decode()
    assert all("waiting for a cluster" in row_of(page, f"acme--{name}") for name in ("dev", "staging", "prod"))

    cluster = sandbox_cluster(world)
    environments = {env.name: env for env in world.acme.environments.all()}
    Placement.objects.create(environment=environments["dev"], cluster=cluster, provisioned_at=timezone.now())
    Placement.objects.create(environment=environments["prod"], cluster=cluster, last_error="403 Forbidden: nope")
    page = client.get("/t/acme/environments/").content.decode()
    assert 'text-bg-success">provisioned<' in row_of(page, "acme--dev") and "on eu" in row_of(page, "acme--dev")
    assert 'text-bg-danger">error<' in row_of(page, "acme--prod") and "403 Forbidden: nope" in row_of(
        page, "acme--prod"
    )
    assert "waiting for a cluster" in row_of(page, "acme--staging")


def test_the_cluster_page_shows_and_changes_what_routes_become(client, world):
    from apps.audit.models import AuditEvent

    cluster = sandbox_cluster(world)
    url = f"/operator/clusters/{cluster.name}/"
    client.force_login(world.user("owner"))
    assert client.post(url, {"traffic_renderer": "gateway_api"}).status_code == 404
    client.force_login(world.operator)
    assert "ingress-nginx (Ingress + annotations)" in client.get(url).content.decode()

    refused = client.post(url, {"traffic_renderer": "gateway_api"})
    assert refused.status_code == 400 and "namespace and name of the Gateway" in refused.content.decode()
    assert Cluster.objects.get(pk=cluster.pk).traffic_renderer == "ingress_nginx"

    saved = client.post(
        url, {"traffic_renderer": "gateway_api", "gateway_namespace": "gateways", "gateway_name": "public"}
    )
    assert saved.status_code == 302
    assert "<code>gateways/public</code>" in client.get(url).content.decode()
    event = AuditEvent.objects.get(action="cluster.traffic")
    assert event.changes["traffic_renderer"] == ["ingress_nginx", "gateway_api"], event.changes
