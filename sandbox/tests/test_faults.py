"""Fault injection for reliability tests, through the Python API and the HTTP admin endpoint."""

import json
import threading
import time

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client import ApiException

from sandbox import SandboxCluster
from sandbox.tests.conftest import wait_for

pytestmark = pytest.mark.sandbox


@pytest.fixture
def faulty():
    with SandboxCluster() as sandbox:
        api = sandbox.api_client()
        yield sandbox, client.CoreV1Api(api)
        api.close()


def configmap(name):
    return {"metadata": {"name": name}, "data": {"k": "v"}}


def test_an_error_rate_turns_requests_into_500s(faulty):
    cluster, core = faulty
    cluster.inject_faults(error_rate=1.0)
    with pytest.raises(ApiException) as failed:
        core.list_namespaced_config_map("default")
    assert failed.value.status == 500
    assert json.loads(failed.value.body)["reason"] == "InternalError"
    cluster.inject_faults(error_rate=0.5, seed=7)
    outcomes = []
    for _ in range(40):
        try:
            core.list_namespaced_config_map("default")
            outcomes.append(True)
        except ApiException:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    cluster.clear_faults()
    core.list_namespaced_config_map("default")
    assert cluster.state()["faults"]["injected"]["errors"] == 1 + outcomes.count(False)


def test_faults_can_target_some_methods_only(faulty):
    cluster, core = faulty
    cluster.inject_faults(error_rate=1.0, methods=["POST"])
    core.list_namespaced_config_map("default")
    with pytest.raises(ApiException):
        core.create_namespaced_config_map("default", configmap("refused"))


def test_added_latency(faulty):
    cluster, core = faulty
    cluster.inject_faults(latency_ms=300)
    started = time.monotonic()
    core.list_namespaced_config_map("default")
    assert time.monotonic() - started >= 0.3
    with pytest.raises(urllib3.exceptions.HTTPError, match="Read timed out"):
        core.list_namespaced_config_map("default", _request_timeout=0.1)


def test_forced_conflicts_hit_the_next_writes_only(faulty):
    cluster, core = faulty
    cluster.inject_faults(force_conflicts=2)
    core.list_namespaced_config_map("default")
    for _ in range(2):
        with pytest.raises(ApiException) as conflict:
            core.create_namespaced_config_map("default", configmap("later"))
        assert conflict.value.status == 409
        assert json.loads(conflict.value.body)["reason"] == "Conflict"
    core.create_namespaced_config_map("default", configmap("later"))


def test_dropped_watches_resume_without_losing_events(faulty):
    cluster, core = faulty
    names, stream = [], watch.Watch()

    def follow():
        try:
            for event in stream.stream(core.list_namespaced_config_map, "default"):
                names.append((event["type"], event["raw_object"]["metadata"]["name"]))
        except urllib3.exceptions.ProtocolError:
            pass  # stream.stop() shuts the socket under the read

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    core.create_namespaced_config_map("default", configmap("one"))
    wait_for(lambda: names, timeout=5)
    assert cluster.drop_watches() == 1
    core.create_namespaced_config_map("default", configmap("two"))
    wait_for(lambda: len(names) == 2, timeout=5)
    wait_for(lambda: cluster.state()["watches"] == 1, timeout=5)
    stream.stop()
    thread.join(timeout=5)
    assert names[:2] == [("ADDED", "one"), ("ADDED", "two")]


def test_the_http_admin_endpoint(faulty):
    cluster, core = faulty
    response = urllib3.request(
        "POST", f"{cluster.url}/sandbox/faults", json={"error_rate": 1.0, "latency_ms": 5, "force_conflicts": 1}
    )
    assert response.status == 200
    state = json.loads(urllib3.request("GET", f"{cluster.url}/sandbox/state").data)
    assert state["faults"]["error_rate"] == 1.0 and state["faults"]["force_conflicts"] == 1
    assert state["objects"]["namespaces"] == 3
    with pytest.raises(ApiException):
        core.list_namespaced_config_map("default")
    assert urllib3.request("DELETE", f"{cluster.url}/sandbox/faults").status == 200
    core.list_namespaced_config_map("default")
    wrong = urllib3.request("POST", f"{cluster.url}/sandbox/faults", json={"explode": True})
    assert wrong.status == 400 and "unknown fault settings: explode" in wrong.json()["error"]
    dropped = urllib3.request("POST", f"{cluster.url}/sandbox/faults", json={"drop_watches": True})
    assert dropped.status == 200
