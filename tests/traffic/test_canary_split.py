"""The Traffic tab says how a canary splits traffic as the cluster serves it, read from the canary's
Ingress annotations (ingress-nginx) or the HTTPRoute's weighted backendRefs (Gateway API), not worked
out from the deployment's step: a weight changed in the cluster shows, marked as differing from the
step; an unreadable cluster is said so. Real worker, sandbox cluster over HTTP, changed through the
official client as kubectl would."""

import re

import pytest

from apps.clusters.kube import KubeClient
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_traffic_set
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)
NAMESPACE = "acme--dev"
TAB = "/t/acme/apps/web/traffic/"
WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
HTTPROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def _canary_at_first_step(api, world, steps, **payload) -> Deployment:
    """web #1 deployed, then #2 as a canary waiting at its first step."""
    app = make_app(world.acme)
    first = make_release(app, ingress_host="web.acme.example")
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    second = make_release(app, image="registry.example/web:2.0", ingress_host="web.acme.example")
    response = deploy(api, world.user("developer"), second, strategy="canary", steps=steps, **payload)
    assert response.status_code == 201, response.content
    return wait_for(lambda: Deployment.objects.filter(pk=response.json()["id"], step=1, waiting=True).first(), 30)


def _dev_card(client) -> str:
    """The dev environment's card of the Traffic tab, as a viewer sees it."""
    response = client.get(TAB)
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('data-environment="dev"') : html.index('data-environment="prod"')]


def _split(card: str) -> str:
    """The split's words, without markup."""
    block = card[card.index("canary-split") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", block[: block.index("</div>")]))


def test_the_tab_shows_the_ingress_weight_the_cluster_serves_and_a_change_made_in_the_cluster(
    world, api, client, cluster
):
    row = _canary_at_first_step(api, world, [20, 100], match_header={"name": "X-Canary", "value": "always"})
    client.force_login(world.user("viewer"))
    shown = _split(_dev_card(client))
    assert "A canary of release #2 takes 20% of this environment's traffic" in shown, shown
    assert "every request with X-Canary: always" in shown
    assert re.search(r"Read from the cluster sandbox at \d\d:\d\d:\d\d UTC", shown), shown
    assert "Differs" not in shown

    # someone changes the weight with kubectl: the page shows the cluster's, and that it differs
    cluster.patch(
        "networking.k8s.io/v1", "Ingress", "web-canary", NAMESPACE, {"metadata": {"annotations": {WEIGHT: "35"}}}
    )
    shown = _split(_dev_card(client))
    assert "takes 35% of this environment's traffic" in shown and "20%" not in shown.split("Differs")[0], shown
    assert "Differs from the deployment Step 1 of the deployment applied:" in shown
    assert "The canary takes requests with header X-Canary: always, and 20% of the other requests." in shown
    assert Deployment.objects.get(pk=row.pk).step == 1  # the row still expects its step's 20%

    # the canary's Ingress gone from the cluster: the page says no canary takes traffic
    cluster.delete("networking.k8s.io/v1", "Ingress", "web-canary", NAMESPACE)
    shown = _split(_dev_card(client))
    assert "No canary takes any of this environment's traffic." in shown and "Differs from the deployment" in shown

    # another tenant's application is missing, whatever the cluster holds
    client.force_login(world.user("owner", tenant="globex"))
    assert client.get(TAB).status_code == 404


def test_on_the_gateway_api_the_tab_reads_the_httproute_weights(world, api, client, cluster):
    cluster_traffic_set(
        operator=world.operator_principal,
        cluster=Cluster.objects.get(name="sandbox"),
        traffic_renderer="gateway_api",
        gateway_namespace="gateways",
        gateway_name="edge",
    )
    _canary_at_first_step(api, world, [10, 100], match_cookie="beta")
    client.force_login(world.user("viewer"))
    shown = _split(_dev_card(client))
    assert "A canary of release #2 takes 10% of this environment's traffic" in shown, shown
    assert "every request with the cookie beta=always" in shown and "Differs" not in shown

    live = cluster.get(*HTTPROUTE, "web", NAMESPACE)
    rules = live["spec"]["rules"]
    weighted = rules[-1]
    weighted["backendRefs"] = [
        {**ref, "weight": 40 if ref["name"] == "web-canary" else 60} for ref in weighted["backendRefs"]
    ]
    cluster.patch(*HTTPROUTE, "web", NAMESPACE, {"spec": {"rules": rules}})
    shown = _split(_dev_card(client))
    assert "takes 40% of this environment's traffic" in shown and "Differs from the deployment" in shown, shown


def test_an_unreadable_cluster_is_said_so_instead_of_the_step(world, api, client, cluster, sandbox):
    _canary_at_first_step(api, world, [20, 100])
    client.force_login(world.user("viewer"))
    sandbox.inject_faults(error_rate=1.0)
    try:
        card = _dev_card(client)
    finally:
        sandbox.clear_faults()
    assert "could not read the cluster sandbox" in card and "A canary of release #2 is in progress" in card
    assert "20%" not in card and "takes <strong>" not in card
