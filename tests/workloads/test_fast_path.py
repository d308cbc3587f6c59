"""The watcher's fast path coalesces events per workload: a burst of pod events is acted on once at
once and once more after it, never by two threads at once, with the latest state of each pod."""

from apps.workloads.rollouts import Changes
from tests.conftest import wait_for

WEB = ("acme", "dev", "web")
API = ("acme", "dev", "api")


def pod(name, restarts):
    return {"metadata": {"name": name}, "status": {"containerStatuses": [{"restartCount": restarts}]}}


def test_a_burst_of_pod_events_is_acted_on_once_with_the_latest_pods():
    changes = Changes()
    for restarts in range(200):
        changes.mark(WEB, (f"web-{restarts % 3}", pod(f"web-{restarts % 3}", restarts)))
    changes.mark(WEB, ("web-2", None))  # deleted after its last update
    ready, _ = changes.take()
    assert [key for key, _ in ready] == [WEB]
    [(_, pods)] = ready
    assert pods["web-0"]["status"]["containerStatuses"][0]["restartCount"] == 198
    assert pods["web-1"]["status"]["containerStatuses"][0]["restartCount"] == 199
    assert pods["web-2"] is None
    assert changes.take()[0] == []  # nothing new came


def test_events_while_a_workload_is_acted_on_wait_for_it_and_come_once_more():
    changes = Changes()
    changes.mark(WEB)
    [(key, _)] = changes.take()[0]
    for restarts in range(50):
        changes.mark(WEB, ("web-0", pod("web-0", restarts)))
    changes.mark(API)
    # Another workload is not held up; the busy one is not handed out again while it is acted on.
    assert [key for key, _ in wait_for(lambda: changes.take()[0], timeout=5, interval=0.01)] == [API]
    changes.done(WEB)
    [(again, pods)] = wait_for(lambda: changes.take()[0], timeout=5, interval=0.01)
    assert again == WEB and pods["web-0"]["status"]["containerStatuses"][0]["restartCount"] == 49
    changes.done(WEB)
    assert changes.take() == ([], None)
