"""A pod's log as the official client reads it: once (tail, timestamps) or followed until the container
stops; lines a container writes reach a follower at once."""

import threading
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox import SandboxCluster

from .conftest import apply_deployment, deployment, rolled_out, wait_for


def running_pod(apps, core, namespace, image="registry.example/web:v1"):
    apply_deployment(apps, namespace, deployment("web", replicas=1, image=image))
    if image.endswith("crash"):
        return wait_for(lambda: next(iter(core.list_namespaced_pod(namespace).items), None)).metadata.name
    wait_for(lambda: rolled_out(apps, namespace, "web", 1))
    return core.list_namespaced_pod(namespace).items[0].metadata.name


def test_written_lines_follow_the_start_line_with_tail_and_timestamps(cluster, apps, core, namespace):
    pod = running_pod(apps, core, namespace)
    cluster.write_log(namespace, pod, "listening on :8080", "GET / 200")
    text = core.read_namespaced_pod_log(pod, namespace)
    assert text.splitlines() == [
        "sandbox: container web started from registry.example/web:v1",
        "listening on :8080",
        "GET / 200",
    ]
    assert core.read_namespaced_pod_log(pod, namespace, tail_lines=1) == "GET / 200\n"
    stamped = core.read_namespaced_pod_log(pod, namespace, timestamps=True).splitlines()
    at, text = stamped[-1].split(" ", 1)
    assert text == "GET / 200" and at.endswith("Z") and len(at.split(".")[1]) == 10  # nine digits and Z
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log(pod, namespace, container="sidecar")
    assert refused.value.status == 400


def test_a_follower_gets_each_new_line_as_it_is_written(cluster, apps, core, namespace):
    pod = running_pod(apps, core, namespace)
    cluster.write_log(namespace, pod, "before")
    stream = core.read_namespaced_pod_log(pod, namespace, follow=True, tail_lines=1, _preload_content=False)
    got: list[str] = []

    def read():
        for chunk in stream.stream(1024):
            got.extend(chunk.decode().splitlines())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: got == ["before"], timeout=5)
    cluster.write_log(namespace, pod, "after")
    wait_for(lambda: got == ["before", "after"], timeout=5)
    # The pod goes away: the follow ends, as the kubelet ends it when the container stops.
    core.delete_namespaced_pod(pod, namespace)
    reader.join(timeout=5)
    assert not reader.is_alive()


def test_a_follow_ends_when_the_container_exits(apps, core, namespace):
    pod = running_pod(apps, core, namespace, image="registry.example/web:crash")
    wait_for(
        lambda: any(c.state.running for c in core.read_namespaced_pod(pod, namespace).status.container_statuses or ()),
        timeout=10,
    )
    started = time.monotonic()
    text = core.read_namespaced_pod_log(pod, namespace, follow=True, _request_timeout=10)
    assert time.monotonic() - started < 10
    assert text.splitlines()[-1] == "sandbox: container web exited with code 1"


def test_a_follow_ends_when_the_server_stops():
    """As an API server going away ends its long requests: stopping does not wait for the follower,
    which sees a clean end of stream (the runner's cleanup would otherwise wait up to a minute for it,
    and the stop give up after ten seconds)."""
    with SandboxCluster() as sandbox:
        api = sandbox.api_client()
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        core.create_namespace({"metadata": {"name": "stopping"}})
        pod = running_pod(apps, core, "stopping")
        stream = core.read_namespaced_pod_log(pod, "stopping", follow=True, _preload_content=False)
        got: list[str] = []
        ended = threading.Event()

        def read():
            for chunk in stream.stream(1024):
                got.extend(chunk.decode().splitlines())
            ended.set()

        threading.Thread(target=read, daemon=True).start()
        wait_for(lambda: got, timeout=5)
        started = time.monotonic()
        sandbox.stop()
        assert time.monotonic() - started < 5
        assert ended.wait(timeout=5), "the follow did not end"
        assert got == ["sandbox: container web started from registry.example/web:v1"]
        api.close()
