"""ResourceQuota admission and LimitRange defaults, directly and through a Deployment."""

import json

import pytest
from kubernetes.client import ApiException

from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, condition, deployment, rolled_out

SMALL = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


def quota(hard):
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"}, "spec": {"hard": hard}}


def pod(name, resources=None):
    container = {"name": "app", "image": "registry.example/app:1"}
    if resources:
        container["resources"] = resources
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container]}}


def test_a_pod_over_quota_is_forbidden_with_the_real_message(core, namespace):
    core.create_namespaced_resource_quota(namespace, quota({"pods": "1", "limits.cpu": "300m"}))
    core.create_namespaced_pod(namespace, pod("first", SMALL))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(namespace, pod("second", SMALL))
    body = json.loads(refused.value.body)
    assert (refused.value.status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        'pods "second" is forbidden: exceeded quota: compute, requested: limits.cpu=200m,'
        "pods=1, used: limits.cpu=200m,pods=1, limited: limits.cpu=300m,pods=1"
    )
    used = wait_for(
        lambda: (
            (core.read_namespaced_resource_quota("compute", namespace).status.used or {}).get("pods") == "1"
            and core.read_namespaced_resource_quota("compute", namespace).status.used
        ),
        timeout=5,
    )
    assert used["limits.cpu"] == "200m"


def test_a_quota_on_compute_requires_pods_to_declare_it(core, namespace):
    core.create_namespaced_resource_quota(namespace, quota({"requests.memory": "1Gi"}))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(namespace, pod("bare"))
    assert "failed quota: compute: must specify requests.memory for: app" in json.loads(refused.value.body)["message"]
    core.create_namespaced_limit_range(
        namespace,
        {
            "metadata": {"name": "defaults"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "250m", "memory": "256Mi"}}]},
        },
    )
    admitted = core.create_namespaced_pod(namespace, pod("defaulted"))
    assert admitted.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "256Mi"}
    assert admitted.spec.containers[0].resources.limits == {"cpu": "250m", "memory": "256Mi"}


def test_a_deployment_over_quota_reports_replica_failure_until_the_quota_grows(apps, core, namespace):
    core.create_namespaced_resource_quota(namespace, quota({"pods": "2"}))
    apply_deployment(apps, namespace, deployment("web", replicas=3, resources=SMALL))

    def failing():
        found = apps.read_namespaced_deployment("web", namespace)
        return found if condition(found, "ReplicaFailure") else None

    found = wait_for(failing, timeout=10)
    failure = condition(found, "ReplicaFailure")
    assert (failure.status, failure.reason) == ("True", "FailedCreate")
    assert "exceeded quota: compute" in failure.message
    replica_set = apps.list_namespaced_replica_set(namespace).items[0]
    assert condition(replica_set, "ReplicaFailure").reason == "FailedCreate"
    events = [e for e in core.list_namespaced_event(namespace).items if e.reason == "FailedCreate"]
    assert events and events[0].type == "Warning" and events[0].message.startswith("Error creating: pods ")
    assert len(core.list_namespaced_pod(namespace).items) == 2

    core.patch_namespaced_resource_quota("compute", namespace, {"spec": {"hard": {"pods": "3"}}})
    done = wait_for(lambda: rolled_out(apps, namespace, "web", 3), timeout=10)
    assert condition(done, "ReplicaFailure") is None


def test_a_replica_set_refused_by_quota_backs_off_instead_of_rewriting_its_status_in_a_loop(apps, core, namespace):
    """Each refusal names a new random pod, so a retry without back-off rewrites the ReplicaSet's status
    thousands of times a second and ages every watcher's history out."""
    import time

    core.create_namespaced_resource_quota(namespace, quota({"pods": "1"}))
    apply_deployment(apps, namespace, deployment("web", replicas=3))
    wait_for(lambda: condition(apps.read_namespaced_deployment("web", namespace), "ReplicaFailure"), timeout=5)
    before = int(core.list_namespaced_pod(namespace).metadata.resource_version)
    time.sleep(3)
    writes = int(core.list_namespaced_pod(namespace).metadata.resource_version) - before
    assert writes < 40, f"{writes} writes in 3 s while refused"
    events = core.list_namespaced_event(namespace).items
    failed = [event for event in events if event.reason == "FailedCreate"]
    assert failed and failed[0].count >= 2  # it does keep trying, on a back-off
