"""The watcher's fast path coalesces events per workload: a burst of pod events is acted on once at
once and once more after it, never by two threads at once, with the latest state of each pod."""

import pytest

from apps.workloads.models import Workload
from apps.workloads.observe import pod_row
from apps.workloads.rollouts import Changes, act
from tests.conftest import wait_for
from tests.deployments.conftest import make_app

WEB = ("acme", "dev", "web")
API = ("acme", "dev", "api")


def pod(name, restarts):
    return {"metadata": {"name": name}, "status": {"containerStatuses": [{"restartCount": restarts}]}}


def test_a_burst_of_pod_events_is_acted_on_once_with_the_latest_pods():
    changes = Changes()
    for restarts in range(200):
        changes.mark(WEB, (("acme--dev", f"web-{restarts % 3}"), pod(f"web-{restarts % 3}", restarts)))
    changes.mark(WEB, (("acme--dev", "web-2"), None))  # deleted after its last update
    ready, _ = changes.take()
    assert [key for key, _ in ready] == [WEB]
    [(_, pods)] = ready
    assert pods[("acme--dev", "web-0")]["status"]["containerStatuses"][0]["restartCount"] == 198
    assert pods[("acme--dev", "web-1")]["status"]["containerStatuses"][0]["restartCount"] == 199
    assert pods[("acme--dev", "web-2")] is None
    assert changes.take()[0] == []  # nothing new came


def test_events_while_a_workload_is_acted_on_wait_for_it_and_come_once_more():
    changes = Changes()
    changes.mark(WEB)
    [(key, _)] = changes.take()[0]
    for restarts in range(50):
        changes.mark(WEB, (("acme--dev", "web-0"), pod("web-0", restarts)))
    changes.mark(API)
    # Another workload is not held up; the busy one is not handed out again while it is acted on.
    assert [key for key, _ in wait_for(lambda: changes.take()[0], timeout=5, interval=0.01)] == [API]
    changes.done(WEB)
    [(again, pods)] = wait_for(lambda: changes.take()[0], timeout=5, interval=0.01)
    assert again == WEB and pods[("acme--dev", "web-0")]["status"]["containerStatuses"][0]["restartCount"] == 49
    changes.done(WEB)
    assert changes.take() == ([], None)


def _running(name: str, namespace: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": "node-1"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "web", "restartCount": 0}]},
    }


@pytest.mark.django_db
def test_a_pod_labelled_as_another_tenants_workload_in_a_namespace_not_its_own_is_ignored(world):
    """A tenant labels what it creates in its own namespace as it likes, another tenant's names included:
    only pods in the workload's environment's namespace reach its rows, added or deleted."""
    web = make_app(world.globex, "web")
    dev = world.globex.environments.get(name="dev")
    own = dev.namespace
    Workload.objects.create(
        tenant=world.globex, application=web, environment=dev, pods=[pod_row(_running("web-0", own))]
    )
    foreign = world.acme.environments.get(name="dev").namespace
    act(
        ("globex", "dev", "web"),
        {
            (foreign, "intruder"): _running("intruder", foreign),
            (foreign, "web-0"): None,  # a pod of the same name deleted over there
            (own, "web-1"): _running("web-1", own),
        },
    )
    assert [row["name"] for row in Workload.objects.get(application=web).pods] == ["web-0", "web-1"]
