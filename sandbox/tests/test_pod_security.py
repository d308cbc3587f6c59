"""Pod Security admission at the baseline level, for namespaces labelled to enforce it: a pod asking for
the host's namespaces or files, privilege or extra capabilities is refused with the real message, and a
Deployment whose pods are refused says so in its ReplicaFailure condition."""

import json

import pytest
from kubernetes.client import ApiException

from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, condition, deployment

ENFORCE = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}


def pod(name, **spec):
    containers = spec.pop("containers", [{"name": "app", "image": "registry.example/app:1"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": containers, **spec}}


def refusal(core, namespace, manifest) -> str:
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(namespace, manifest)
    assert refused.value.status == 403
    return json.loads(refused.value.body)["message"]


def test_a_namespace_enforcing_baseline_refuses_what_baseline_forbids_and_admits_the_rest(core, namespace):
    loud = pod(
        "loud",
        hostNetwork=True,
        volumes=[{"name": "host", "hostPath": {"path": "/"}}],
        initContainers=[{"name": "exfil", "image": "x", "securityContext": {"privileged": True}}],
        containers=[
            {
                "name": "app",
                "image": "registry.example/app:1",
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CHOWN"]}},
            }
        ],
    )
    core.create_namespaced_pod(namespace, loud)  # not enforced yet: admitted
    core.patch_namespace(namespace, ENFORCE)
    assert refusal(core, namespace, {**loud, "metadata": {"name": "loud-again"}}) == (
        'pods "loud-again" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
        'hostPath volumes (volume "host"), privileged (container "exfil" must not set '
        "securityContext.privileged=true), non-default capabilities (capabilities.add NET_ADMIN), "
        "hostPort (hostPorts 8080)"
    )
    core.create_namespaced_pod(namespace, pod("plain", securityContext={"runAsNonRoot": True}))


def test_a_deployment_whose_pods_baseline_refuses_reports_replica_failure(apps, core, namespace):
    core.patch_namespace(namespace, ENFORCE)
    manifest = deployment("web", replicas=1)
    manifest["spec"]["template"]["spec"]["hostPID"] = True
    apply_deployment(apps, namespace, manifest)
    found = wait_for(
        lambda: (d := apps.read_namespaced_deployment("web", namespace)) and condition(d, "ReplicaFailure") and d,
        timeout=10,
    )
    assert (
        'violates PodSecurity "baseline:latest": host namespaces (hostPID=true)'
        in condition(found, "ReplicaFailure").message
    )
    assert core.list_namespaced_pod(namespace).items == []
