"""Watches: event streams, resuming from a resourceVersion, 410 Expired, bookmarks, selector transitions."""

import json
import threading

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client import ApiException

from sandbox import SandboxCluster
from sandbox.tests.conftest import wait_for

pytestmark = pytest.mark.sandbox


def configmap(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": "v"}}


def collect(core, namespace, events, stop, **kwargs):
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, namespace, **kwargs):
        events.append(
            (event["type"], event["raw_object"]["metadata"]["name"], event["raw_object"]["metadata"]["resourceVersion"])
        )
        if stop.is_set():
            stream.stop()


def test_a_watch_streams_added_modified_and_deleted(core, namespace):
    events, stop = [], threading.Event()
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    thread = threading.Thread(
        target=collect,
        args=(core, namespace, events, stop),
        kwargs={"resource_version": start, "timeout_seconds": 5},
        daemon=True,
    )
    thread.start()
    created = core.create_namespaced_config_map(namespace, configmap("settings"))
    changed = core.patch_namespaced_config_map("settings", namespace, {"data": {"k": "w"}})
    core.delete_namespaced_config_map("settings", namespace)
    wait_for(lambda: len(events) == 3, timeout=5)
    stop.set()
    assert [(kind, name) for kind, name, _ in events] == [
        ("ADDED", "settings"),
        ("MODIFIED", "settings"),
        ("DELETED", "settings"),
    ]
    assert events[0][2] == created.metadata.resource_version
    assert events[1][2] == changed.metadata.resource_version
    assert int(events[2][2]) > int(changed.metadata.resource_version)


def test_a_watch_resumes_from_a_resource_version_without_loss(core, namespace):
    core.create_namespaced_config_map(namespace, configmap("before"))
    mark = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, configmap("after-1"))
    core.create_namespaced_config_map(namespace, configmap("after-2"))
    events = []
    collect(core, namespace, events, threading.Event(), resource_version=mark, timeout_seconds=1)
    assert [(kind, name) for kind, name, _ in events] == [("ADDED", "after-1"), ("ADDED", "after-2")]


def test_a_watch_without_a_version_starts_with_the_current_objects(core, namespace):
    core.create_namespaced_config_map(namespace, configmap("existing"))
    events = []
    collect(core, namespace, events, threading.Event(), timeout_seconds=1)
    assert [(kind, name) for kind, name, _ in events] == [("ADDED", "existing")]


def test_a_label_selector_watch_sees_objects_leave_and_enter_the_selection(core, namespace):
    core.create_namespaced_config_map(namespace, configmap("settings", {"app": "web"}))
    mark = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.patch_namespaced_config_map("settings", namespace, {"metadata": {"labels": {"app": "other"}}})
    core.patch_namespaced_config_map("settings", namespace, {"metadata": {"labels": {"app": "web"}}})
    events = []
    collect(
        core, namespace, events, threading.Event(), resource_version=mark, label_selector="app=web", timeout_seconds=1
    )
    assert [kind for kind, _, _ in events] == ["DELETED", "ADDED"]


def test_an_expired_resource_version_gets_410_gone():
    with SandboxCluster(history_size=10) as small:
        api = small.api_client()
        core = client.CoreV1Api(api)
        old = core.list_namespaced_config_map("default").metadata.resource_version
        for i in range(15):
            core.create_namespaced_config_map("default", configmap(f"cm-{i}"))
        with pytest.raises(ApiException) as gone:
            list(
                watch.Watch().stream(
                    core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=1
                )
            )
        assert gone.value.status == 410
        response = urllib3.request(
            "GET", f"{small.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old}"
        )
        event = json.loads(response.data.splitlines()[0])
        assert response.status == 200 and event["type"] == "ERROR"
        assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
        assert event["object"]["message"].startswith(f"too old resource version: {old} (")
        api.close()


def test_bookmarks_carry_the_current_resource_version():
    with SandboxCluster(bookmark_interval=0.1) as cluster:
        response = urllib3.request(
            "GET",
            f"{cluster.url}/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=1",
            preload_content=False,
        )
        lines = [json.loads(line) for line in response.read().splitlines() if line]
        bookmarks = [line for line in lines if line["type"] == "BOOKMARK"]
        assert len(bookmarks) >= 3
        assert bookmarks[-1]["object"]["kind"] == "ConfigMap"
        assert bookmarks[-1]["object"]["metadata"]["resourceVersion"] == cluster.state()["resourceVersion"]


def test_send_initial_events_ends_with_a_marked_bookmark(cluster, core, namespace):
    core.create_namespaced_config_map(namespace, configmap("existing"))
    response = urllib3.request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/{namespace}/configmaps?watch=1"
        "&sendInitialEvents=true&allowWatchBookmarks=true&"
        "resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
    )
    lines = [json.loads(line) for line in response.data.splitlines() if line]
    assert lines[0]["type"] == "ADDED" and lines[0]["object"]["metadata"]["name"] == "existing"
    assert lines[1]["type"] == "BOOKMARK"
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
