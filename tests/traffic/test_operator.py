"""Operators choose each cluster's renderer and see every host with the routes that serve it."""

import pytest

from apps.audit.models import AuditEvent
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register
from apps.tenants.roles import Role
from apps.traffic.services import route_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(world):
    return cluster_register(
        operator=world.operator_principal,
        name="edge",
        auth_method="token",
        api_url="https://k8s.example.test",
        credentials={"token": "t"},
    )


def test_operators_choose_a_clusters_renderer(api, world, cluster):
    url = "/api/v1/operator/clusters/edge/traffic/"
    api.as_user(world.operator)
    refused = api.post(url, {"traffic_renderer": "gateway_api"}, format="json")
    assert refused.status_code == 400 and "gateway_name" in refused.json()["fields"]
    done = api.post(
        url, {"traffic_renderer": "gateway_api", "gateway_namespace": "gateways", "gateway_name": "edge"}, format="json"
    )
    assert done.status_code == 200 and done.json()["traffic_renderer"] == "gateway_api"
    assert Cluster.objects.get(name="edge").gateway_name == "edge"
    assert AuditEvent.objects.filter(action="cluster.traffic").exists()

    api.as_user(world.user(Role.OWNER))
    assert api.post(url, {"traffic_renderer": "ingress_nginx"}, format="json").status_code == 403


def test_the_domains_page_shows_each_hosts_routes(client, world, shop):
    route_create(
        actor=world.principal(Role.DEVELOPER),
        tenant=world.acme,
        environment=world.acme.environments.get(name="dev"),
        application=shop,
        host="shop.acme-corp.com",
        path="/api",
    )
    client.force_login(world.operator)
    page = client.get("/operator/domains/").content.decode()
    assert "shop.acme-corp.com" in page
    assert "<code>/api</code> → shop in dev" in page
