"""A deployment's pods on its page and in the API are the cluster's pods now, read when asked, never
folded out of past pod events: after a scale and a restart the page lists the pods that run, an older
deployment whose release no longer runs says it is not live, and an unreadable cluster is said so."""

import pytest

from apps.clusters.kube import KubeClient
from tests.conftest import wait_for

from .conftest import make_app, make_release, registered
from .test_pipeline import URL, deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


def running(cluster) -> dict[str, bool]:
    """Each pod of the application the cluster has now (terminating ones left out), and whether it is ready."""
    pods, _ = cluster.list("v1", "Pod", "acme--dev", label_selector="paas.dev/application=web")
    return {
        pod["metadata"]["name"]: any(
            c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or []
        )
        for pod in pods
        if not pod["metadata"].get("deletionTimestamp")
    }


def settled(cluster, count: int, not_in: set[str] = frozenset()) -> dict[str, bool]:
    def check():
        pods = running(cluster)
        everything, _ = cluster.list("v1", "Pod", "acme--dev", label_selector="paas.dev/application=web")
        done = len(pods) == len(everything) == count and all(pods.values()) and not pods.keys() & not_in
        return pods if done else None

    return wait_for(check, timeout=40)


def page(client, world, deployment) -> str:
    client.force_login(world.user("viewer"))
    return client.get(f"/t/acme/deployments/{deployment.pk}/").content.decode()


def test_after_scale_and_restart_the_page_and_api_list_the_pods_that_run_now(world, api, client, cluster):
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    original = set(settled(cluster, 2))
    assert api.post(f"{URL}{deployment.pk}/scale/", {"replicas": 3}, format="json").status_code == 200
    settled(cluster, 3)
    assert api.post(f"{URL}{deployment.pk}/restart/", format="json").status_code == 200
    now = settled(cluster, 3, not_in=original)

    answer = api.get(f"{URL}{deployment.pk}/pods/").json()
    assert answer["live"] is True and answer["readable"] is True
    assert {pod["name"]: pod["state"] for pod in answer["pods"]} == {name: "ready" for name in now}
    html = page(client, world, deployment)
    assert all(f'data-pod="{name}"' in html for name in now)
    assert not any(f'data-pod="{name}"' in html for name in original), "a replaced pod is still listed"


def test_an_older_deployment_whose_release_no_longer_runs_is_not_live(world, api, client, cluster):
    app = make_app(world.acme)
    first = finished(deploy(api, world.user("developer"), make_release(app)).json()["id"])
    old_pods = set(settled(cluster, 2))
    second = finished(
        deploy(api, world.user("developer"), make_release(app, image="registry.example/web:2.0")).json()["id"]
    )
    settled(cluster, 2, not_in=old_pods)

    answer = api.get(f"{URL}{first.pk}/pods/").json()
    assert answer == {"live": False, "readable": True, "error": "", "pods": []}
    html = page(client, world, first)
    assert "Not live: no pod of release #1 runs in dev now." in html and "data-pod=" not in html
    assert len(api.get(f"{URL}{second.pk}/pods/").json()["pods"]) == 2


def test_an_unreadable_cluster_is_said_so_and_no_pods_are_shown(world, api, client, cluster, sandbox):
    deployment = finished(deploy(api, world.user("developer"), make_release(make_app(world.acme))).json()["id"])
    settled(cluster, 2)
    sandbox.inject_faults(error_rate=1.0)
    try:
        refused = api.get(f"{URL}{deployment.pk}/pods/")
        html = page(client, world, deployment)
    finally:
        sandbox.clear_faults()
    assert refused.status_code == 503 and refused.json()["code"] == "cluster_unreadable", refused.content
    assert "could not be read" in refused.json()["detail"]
    assert "could not be read" in html and "data-pod=" not in html and 'id="pods-error" hidden' not in html


def test_a_crash_loop_reads_without_the_pods_namespace_and_uid():
    from apps.deployments.pods import pod_look

    said = "back-off 40s restarting failed container=web pod=web-7d9f-abcde_acme--dev(e6e1f75b-0c1d-4e55-9a3b-1f2e3d4c5b6a)"
    pod = {
        "metadata": {"name": "web-7d9f-abcde"},
        "status": {
            "containerStatuses": [
                {"restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": said}}}
            ]
        },
    }
    look = pod_look(pod)
    assert (look["state"], look["message"]) == ("crash loop", "container web keeps exiting; the next start is in 40s")
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "something else entirely"
    assert pod_look(pod)["message"] == "something else entirely", "words it does not know are shown as they are"
