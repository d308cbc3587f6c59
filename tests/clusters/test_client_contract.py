"""Contract of the client layer (apps/clusters/kube.py).

Runs against the sandbox cluster by default. With KUBECONFIG pointing at a real cluster (kind,
minikube) and `pytest -m real_cluster`, the same tests run there, which checks the sandbox's
fidelity. Each test works in a namespace of its own and removes it afterwards.
"""

import os
import secrets
import threading
import time

import pytest
from kubernetes import config as k8s_config

from apps.clusters.kube import KubeClient, KubeError, RolloutStatus

pytestmark = [pytest.mark.real_cluster, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def cluster_api(request):
    if "real_cluster" in (request.config.option.markexpr or "") and os.environ.get("KUBECONFIG"):
        yield k8s_config.new_client_from_config(os.environ["KUBECONFIG"]), None
        return
    from sandbox import SandboxCluster

    with SandboxCluster() as sandbox:
        yield sandbox.api_client(), sandbox


@pytest.fixture
def kube(cluster_api):
    api_client, _ = cluster_api
    return KubeClient(api_client, backoff=0.05)


@pytest.fixture
def sandbox(cluster_api):
    if cluster_api[1] is None:
        pytest.skip("fault injection exists only in the sandbox")
    yield cluster_api[1]
    cluster_api[1].clear_faults()


@pytest.fixture
def namespace(kube):
    name = f"contract-{secrets.token_hex(4)}"
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])
    yield name
    kube.delete("v1", "Namespace", name)


def deployment(namespace, name="web", image="nginx:1.27", replicas=2, labels=None):
    match = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {**match, **(labels or {})}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": match},
            "template": {"metadata": {"labels": match}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


def config_map(namespace, name, data, labels=None):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "data": data,
    }


def wait_for_rollout(kube, namespace, name, timeout=60) -> RolloutStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = kube.rollout_status(namespace, name)
        if status and (status.complete or status.failed):
            return status
        time.sleep(0.2)
    raise AssertionError(f"rollout of {namespace}/{name} did not finish: {status and status.message}")


def test_apply_creates_then_changes_nothing_when_repeated(kube, namespace):
    first = kube.apply([config_map(namespace, "settings", {"A": "1"})])[0]
    again = kube.apply([config_map(namespace, "settings", {"A": "1"})])[0]
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert any(entry["manager"] == "paas-portal" for entry in again["metadata"]["managedFields"])
    changed = kube.apply([config_map(namespace, "settings", {"A": "2"})])[0]
    assert changed["data"] == {"A": "2"}


def test_get_and_list_by_label(kube, namespace):
    kube.apply(
        [
            config_map(namespace, "a", {"x": "1"}, {"team": "blue"}),
            config_map(namespace, "b", {"x": "2"}, {"team": "green"}),
        ]
    )
    assert kube.get("v1", "ConfigMap", "missing", namespace) is None
    assert kube.get("v1", "ConfigMap", "a", namespace)["data"] == {"x": "1"}
    items, version = kube.list("v1", "ConfigMap", namespace, label_selector="team=green")
    assert [item["metadata"]["name"] for item in items] == ["b"] and version


def test_delete_reports_whether_something_was_there(kube, namespace):
    kube.apply([config_map(namespace, "gone", {"x": "1"})])
    assert kube.delete("v1", "ConfigMap", "gone", namespace) is True
    assert kube.delete("v1", "ConfigMap", "gone", namespace) is False


def test_a_deployment_rolls_out_and_the_status_says_so(kube, namespace):
    kube.apply([deployment(namespace)])
    status = wait_for_rollout(kube, namespace, "web")
    assert status.complete and status.message == "successfully rolled out"
    assert (status.desired, status.updated, status.ready, status.available) == (2, 2, 2, 2)


def test_invalid_objects_are_refused_without_retrying(kube, namespace):
    bad = config_map(namespace, "Not_A_Valid_Name", {"x": "1"})
    started = time.monotonic()
    with pytest.raises(KubeError) as refused:
        kube.apply([bad])
    assert refused.value.status == 422 and not refused.value.retryable
    assert time.monotonic() - started < 2


def test_watch_streams_changes_and_resumes(kube, namespace):
    _, version = kube.list("v1", "ConfigMap", namespace)
    kube.apply([config_map(namespace, "watched", {"x": "1"})])
    kube.apply([config_map(namespace, "watched", {"x": "2"})])
    events = []
    for kind, obj in kube.watch("v1", "ConfigMap", namespace=namespace, resource_version=version, timeout_seconds=3):
        events.append((kind, obj["data"]["x"]))
        if len(events) == 2:
            break
    assert events == [("ADDED", "1"), ("MODIFIED", "2")]


def test_transient_failures_are_retried(kube, namespace, sandbox):
    sandbox.inject_faults(error_rate=0.3, seed=7)
    for i in range(5):
        kube.apply([config_map(namespace, f"retried-{i}", {"x": str(i)})])
    sandbox.clear_faults()
    assert len(kube.list("v1", "ConfigMap", namespace)[0]) >= 5


def test_reads_are_retried_and_a_missing_object_reads_as_none(kube, namespace, sandbox):
    kube.apply([config_map(namespace, "read", {"x": "1"})])
    sandbox.inject_faults(error_rate=0.3, seed=11, methods=["GET"])
    for _ in range(10):
        assert kube.get("v1", "ConfigMap", "read", namespace)["data"] == {"x": "1"}
        assert kube.get("v1", "ConfigMap", "never", namespace) is None
    assert sandbox.inject_faults(error_rate=1.0, methods=["GET"])
    with pytest.raises(KubeError) as failed:
        kube.get("v1", "ConfigMap", "read", namespace)
    assert failed.value.status == 500 and "sandbox fault injection" in failed.value.message


def test_reads_of_missing_objects_keep_using_one_connection(cluster_api, namespace):
    """A page asks what runs in each place, and most answers may be 404: each must give its connection
    back, or every read opens a new one (a TLS handshake each, on a real cluster)."""
    kube = KubeClient(cluster_api[0].__class__(cluster_api[0].configuration))
    kube.apply([config_map(namespace, "there", {"x": "1"})])
    for _ in range(5):
        assert kube.get("v1", "ConfigMap", "absent", namespace) is None
        assert kube.get("v1", "ConfigMap", "there", namespace)["data"] == {"x": "1"}
    pools = kube.api_client.rest_client.pool_manager.pools
    # keys(): urllib3 refuses to iterate its pool container itself
    assert sum(pools[key].num_connections for key in pools.keys()) == 1  # noqa: SIM118


def test_conflicts_are_retried(kube, namespace, sandbox):
    sandbox.inject_faults(force_conflicts=2)
    kube.apply([config_map(namespace, "contested", {"x": "1"})])
    assert kube.get("v1", "ConfigMap", "contested", namespace)["data"] == {"x": "1"}


def test_a_too_old_watch_version_relists(sandbox):
    from sandbox import SandboxCluster

    with SandboxCluster(history_size=5) as small:
        kube = KubeClient(small.api_client(), backoff=0.05)
        kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "churn"}}])
        _, version = kube.list("v1", "ConfigMap", "churn")
        for i in range(10):
            kube.apply([config_map("churn", "kept", {"x": str(i)})])
        events = []
        for kind, obj in kube.watch("v1", "ConfigMap", namespace="churn", resource_version=version, timeout_seconds=3):
            events.append((kind, obj["metadata"].get("name"), (obj.get("data") or {}).get("x")))
            if kind == "SYNC":
                break
        assert events == [("RELIST", None, None), ("SYNC", "kept", "9")]


def test_a_watch_resumes_where_the_server_dropped_it(kube, namespace, sandbox):
    _, version = kube.list("v1", "ConfigMap", namespace)
    kube.apply([config_map(namespace, "watched", {"x": "1"})])
    events = []
    for kind, obj in kube.watch("v1", "ConfigMap", namespace=namespace, resource_version=version, timeout_seconds=10):
        events.append((kind, obj["data"]["x"]))
        if len(events) == 1:
            assert sandbox.drop_watches() >= 1
            kube.apply([config_map(namespace, "watched", {"x": "2"})])
        if len(events) == 2:
            break
    assert events == [("ADDED", "1"), ("MODIFIED", "2")]


def test_a_dropped_watch_too_far_behind_relists(sandbox):
    from sandbox import SandboxCluster

    with SandboxCluster(history_size=5) as small:
        kube = KubeClient(small.api_client(), backoff=0.05)
        kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "churn"}}])
        _, version = kube.list("v1", "ConfigMap", "churn")
        kube.apply([config_map("churn", "kept", {"x": "0"})])
        events = []
        for kind, obj in kube.watch("v1", "ConfigMap", namespace="churn", resource_version=version, timeout_seconds=10):
            events.append((kind, (obj.get("data") or {}).get("x")))
            if kind == "ADDED":
                small.drop_watches()
                for i in range(1, 10):  # past the 5 versions the sandbox keeps
                    kube.apply([config_map("churn", "kept", {"x": str(i)})])
            if kind == "SYNC":
                break
        assert events == [("ADDED", "0"), ("RELIST", None), ("SYNC", "9")]


def test_a_watch_ends_within_its_time_through_drops(kube, namespace, sandbox):
    dropped = sandbox.state()["faults"]["injected"]["dropped_watches"]
    drops = [threading.Timer(delay, sandbox.drop_watches) for delay in (0.5, 1.5)]
    for drop in drops:
        drop.start()
    started = time.monotonic()
    seen = [kind for kind, _ in kube.watch("v1", "ConfigMap", namespace=namespace, timeout_seconds=3)]
    assert seen == [] and 2.5 < time.monotonic() - started < 5
    assert sandbox.state()["faults"]["injected"]["dropped_watches"] >= dropped + 2


def test_a_watch_of_a_cluster_gone_away_ends_when_its_caller_stops():
    """A watch retries an unreachable cluster until its time is up, unless its caller stops first: a
    stopped lifecycle watcher must not leave threads retrying a cluster for minutes."""
    from sandbox import SandboxCluster

    with SandboxCluster() as gone:
        kube = KubeClient(gone.api_client(), backoff=0.05)
        kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}])
        _, version = kube.list("v1", "ConfigMap", "gone")
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    watched = kube.watch(
        "v1", "ConfigMap", namespace="gone", resource_version=version, timeout_seconds=60, stopped=stop.is_set
    )
    assert list(watched) == [] and time.monotonic() - started < 10


def test_a_failed_rollout_is_reported(kube, namespace):
    bad = deployment(namespace, name="broken", image="registry.example/app:pull-error", replicas=1)
    bad["spec"]["progressDeadlineSeconds"] = 2
    kube.apply([bad])
    status = wait_for_rollout(kube, namespace, "broken", timeout=30)
    assert status.failed and "has timed out progressing" in status.message


def test_clients_starting_at_once_read_each_others_discovery_whole(caplog):
    """Clients of one cluster starting at once in several threads (the lifecycle watcher's, a worker's)
    share the discovery cache file the first of them writes: none reads it half-written, which the
    official client logs as "load cache error" before discovering the cluster again from scratch."""
    from sandbox import SandboxCluster

    kinds = [("apps/v1", "Deployment"), ("v1", "Pod"), ("v1", "Service"), ("batch/v1", "CronJob")]
    failures = []

    def start_clients(cluster):
        try:
            for _ in range(10):
                with KubeClient(cluster.api_client()) as kube:
                    for api_version, kind in kinds:
                        kube.list(api_version, kind, "default")
        except Exception as error:  # noqa: BLE001 - reported below, from the test's thread
            failures.append(error)

    with SandboxCluster() as cluster:  # a new address: no discovery cached for it yet
        threads = [threading.Thread(target=start_clients, args=(cluster,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert failures == []
    assert [r.getMessage() for r in caplog.records if "cache error" in r.getMessage()] == []


def test_a_log_follow_closed_while_its_container_waits_to_start_again_closes_quietly(kube, namespace):
    """Between a crash and the next start the follow's last read has ended and given its connection back;
    closing it then (the page left during a crash loop) wakes nothing and raises nothing."""
    from apps.clusters.kube import LogFollow

    kube.apply([deployment(namespace, image="registry.example/web:crash", replicas=1)])
    pod = wait_for_pod(kube, namespace)
    follow = LogFollow(kube, namespace, pod, container=None, tail=10)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(text for _, text in follow), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not any("exited with code 1" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any("exited with code 1" in line for line in lines), lines
    time.sleep(LogFollow.PAUSE_SECONDS + 0.5)  # the read ended; it waits for the container to start again
    follow.close()
    reader.join(timeout=10)
    assert not reader.is_alive()


def wait_for_pod(kube, namespace, timeout=30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods, _ = kube.list("v1", "Pod", namespace, label_selector="app=web")
        if pods:
            return pods[0]["metadata"]["name"]
        time.sleep(0.1)
    raise AssertionError("no pod")
