"""Deployments roll out, update and scale as kube-controller-manager would make them."""

import threading
import time

import requests
from kubernetes import client, watch

from sandbox import SandboxCluster
from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, condition, deployment, rolled_out


def test_a_deployment_rolls_out_to_ready_with_a_real_status(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=3))
    done = wait_for(lambda: rolled_out(apps, namespace, "web", 3), timeout=10)
    status = done.status
    assert status.observed_generation == 1 and not status.unavailable_replicas
    available, progressing = condition(done, "Available"), condition(done, "Progressing")
    assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
    replica_set = apps.list_namespaced_replica_set(namespace).items[0]
    assert (progressing.status, progressing.reason) == ("True", "NewReplicaSetAvailable")
    assert progressing.message == f'ReplicaSet "{replica_set.metadata.name}" has successfully progressed.'
    template_hash = replica_set.metadata.labels["pod-template-hash"]
    assert replica_set.metadata.name == f"web-{template_hash}"
    assert replica_set.metadata.owner_references[0].uid == done.metadata.uid
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 3
    for pod in pods:
        assert pod.status.phase == "Running" and pod.spec.node_name == "sandbox-node"
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
        assert pod.metadata.owner_references[0].name == replica_set.metadata.name
    reasons = {e.reason for e in core.list_namespaced_event(namespace).items}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Started"} <= reasons


def test_a_new_deployment_is_unavailable_until_its_pods_are_ready(apps, namespace):
    created = apply_deployment(
        apps, namespace, deployment("web", replicas=2, annotations={"sandbox.paas.dev/ready-after-seconds": "1"})
    )
    first = wait_for(lambda: condition(apps.read_namespaced_deployment("web", namespace), "Progressing"), timeout=5)
    assert first.reason in ("NewReplicaSetCreated", "ReplicaSetUpdated")
    early = apps.read_namespaced_deployment("web", namespace)
    assert condition(early, "Available").reason == "MinimumReplicasUnavailable"
    assert early.status.unavailable_replicas == 2
    assert created.metadata.generation == 1
    wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=10)


def _watch_pods(core, namespace, stop, seen):
    """Track, after every pod event, how many pods exist and how many are ready."""
    pods, stream, resume = {}, watch.Watch(), {}
    while not stop.is_set():
        for event in stream.stream(core.list_namespaced_pod, namespace, timeout_seconds=1, **resume):
            pod = event["raw_object"]
            if event["type"] == "DELETED":
                pods.pop(pod["metadata"]["name"], None)
            else:
                ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", ()))
                pods[pod["metadata"]["name"]] = (pod["spec"]["containers"][0]["image"], ready)
            seen.append((len(pods), sum(ready for _, ready in pods.values()), dict(pods)))
        resume = {"resource_version": stream.resource_version}


def test_a_rolling_update_respects_max_surge_and_max_unavailable(apps, core, namespace):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    apply_deployment(apps, namespace, deployment("web", replicas=4, strategy=strategy))
    wait_for(lambda: rolled_out(apps, namespace, "web", 4), timeout=10)
    seen, stop = [], threading.Event()
    watcher = threading.Thread(target=_watch_pods, args=(core, namespace, stop, seen), daemon=True)
    watcher.start()
    wait_for(lambda: len(seen) >= 4, timeout=5)
    initial = len(seen)
    apply_deployment(apps, namespace, deployment("web", replicas=4, strategy=strategy, image="registry.example/web:v2"))
    done = wait_for(lambda: rolled_out(apps, namespace, "web", 4), timeout=15)
    stop.set()
    watcher.join(timeout=5)
    during = seen[initial:]
    assert max(total for total, _, _ in during) == 5
    assert min(ready for _, ready, _ in during) == 3
    images = {image for image, _ in seen[-1][2].values()}
    assert images == {"registry.example/web:v2"}
    assert done.metadata.generation == 2 and done.status.observed_generation == 2
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    replica_sets = {
        rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs.spec.replicas
        for rs in apps.list_namespaced_replica_set(namespace).items
    }
    assert replica_sets == {"1": 0, "2": 4}
    pods = core.list_namespaced_pod(namespace).items
    assert {p.spec.containers[0].image for p in pods} == {"registry.example/web:v2"}


def test_recreate_stops_old_pods_before_starting_new_ones(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=2, strategy={"type": "Recreate"}))
    wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=10)
    apply_deployment(
        apps, namespace, deployment("web", replicas=2, strategy={"type": "Recreate"}, image="registry.example/web:v2")
    )
    wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=10)
    assert {p.spec.containers[0].image for p in core.list_namespaced_pod(namespace).items} == {
        "registry.example/web:v2"
    }


def test_scaling_keeps_the_rollout_complete_condition(apps, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=10)
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    done = wait_for(lambda: rolled_out(apps, namespace, "web", 3), timeout=10)
    assert condition(done, "Progressing").reason == "NewReplicaSetAvailable"
    assert len(apps.list_namespaced_replica_set(namespace).items) == 1
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 1}})
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=10)


def test_rolling_back_reuses_the_old_replica_set(apps, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=10)
    apply_deployment(apps, namespace, deployment("web", replicas=1, image="registry.example/web:v2"))
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=10)
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    done = wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=10)
    assert done.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert len(apps.list_namespaced_replica_set(namespace).items) == 2


def test_paused_time_does_not_count_against_the_progress_deadline(apps, namespace):
    """As kube-controller-manager: no progress is estimated while paused, and the clock restarts on resume."""
    apply_deployment(apps, namespace, deployment("web", image="registry.example/web:unready", progress_deadline=2))
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"paused": True}})
    paused = wait_for(
        lambda: (
            (c := condition(apps.read_namespaced_deployment("web", namespace), "Progressing"))
            and c.reason == "DeploymentPaused"
            and c
        )
    )
    assert paused.status == "Unknown"
    time.sleep(3)
    assert condition(apps.read_namespaced_deployment("web", namespace), "Progressing").reason == "DeploymentPaused"

    apps.patch_namespaced_deployment("web", namespace, {"spec": {"paused": False}})
    resumed = time.monotonic()
    wait_for(
        lambda: (
            condition(apps.read_namespaced_deployment("web", namespace), "Progressing").reason == "DeploymentResumed"
        ),
        timeout=5,
    )
    timed_out = wait_for(
        lambda: (
            (c := condition(apps.read_namespaced_deployment("web", namespace), "Progressing")).reason
            == "ProgressDeadlineExceeded"
            and c
        ),
        timeout=10,
    )
    assert timed_out.status == "False" and time.monotonic() - resumed >= 1.9


def test_ready_spread_starts_each_pod_after_a_delay_of_its_own(namespace):
    with SandboxCluster(ready_after=0.2, ready_spread=2.0) as spread:
        api = spread.api_client()
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": namespace}})
        started = time.monotonic()
        apply_deployment(apps, namespace, deployment("web", replicas=6))
        ready_at = {}
        while len(ready_at) < 6 and time.monotonic() - started < 10:
            for pod in core.list_namespaced_pod(namespace).items:
                if {c.type: c.status for c in pod.status.conditions or ()}.get("Ready") == "True":
                    ready_at.setdefault(pod.metadata.name, time.monotonic() - started)
            time.sleep(0.05)
    assert len(ready_at) == 6
    assert min(ready_at.values()) >= 0.2 and max(ready_at.values()) <= 2.2 + 0.5
    assert max(ready_at.values()) - min(ready_at.values()) > 0.3  # six draws from 2 s are not all alike


def test_pod_terminations_are_recorded_to_the_microsecond(cluster, apps, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=2))
    wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=10)
    before = time.time()
    apply_deployment(apps, namespace, deployment("web", replicas=2, image="registry.example/web:v2"))
    wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=10)
    after = time.time()
    gone = [t for t in cluster.pod_terminations() if t["namespace"] == namespace]
    assert len(gone) == 2 and all(before < t["at"] < after for t in gone)
    assert {t["labels"]["app"] for t in gone} == {"web"}
    served = requests.get(f"{cluster.url}/sandbox/pod-terminations", timeout=5).json()["items"]
    assert [t for t in served if t["namespace"] == namespace] == gone
