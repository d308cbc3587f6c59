"""Merge, strategic merge, JSON patch and server-side apply through the official client."""

import json

import pytest
from kubernetes.client import ApiException

from sandbox.tests.conftest import wait_for

from .conftest import APPLY, apply_deployment, deployment, rolled_out

MERGE, STRATEGIC, JSON_PATCH = (
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
)


def two_containers(name):
    manifest = deployment(name, replicas=1)
    manifest["spec"]["template"]["spec"]["containers"].append(
        {"name": "sidecar", "image": "registry.example/proxy:1", "env": [{"name": "MODE", "value": "a"}]}
    )
    return manifest


def containers(obj):
    return [(c.name, c.image) for c in obj.spec.template.spec.containers]


def test_merge_patch_replaces_lists_and_deletes_with_null(apps, namespace):
    apps.create_namespaced_deployment(namespace, two_containers("web"))
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "metadata": {"labels": {"app": None, "team": "a"}},
            "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "registry.example/only:1"}]}}},
        },
        _content_type=MERGE,
    )
    assert patched.metadata.labels == {"team": "a"}
    assert containers(patched) == [("only", "registry.example/only:1")]


def test_strategic_merge_patch_merges_containers_by_name(apps, namespace):
    apps.create_namespaced_deployment(namespace, two_containers("web"))
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "sidecar", "env": [{"name": "EXTRA", "value": "1"}]},
                            {"name": "web", "image": "registry.example/web:v2"},
                        ]
                    }
                }
            }
        },
        _content_type=STRATEGIC,
    )
    assert containers(patched) == [("web", "registry.example/web:v2"), ("sidecar", "registry.example/proxy:1")]
    sidecar = patched.spec.template.spec.containers[1]
    assert [(e.name, e.value) for e in sidecar.env] == [("MODE", "a"), ("EXTRA", "1")]


def test_strategic_merge_patch_directives(apps, namespace):
    apps.create_namespaced_deployment(namespace, two_containers("web"))
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
                        "containers": [{"name": "web", "image": "registry.example/web:v3"}],
                    }
                }
            }
        },
        _content_type=STRATEGIC,
    )
    assert containers(patched) == [("sidecar", "registry.example/proxy:1"), ("web", "registry.example/web:v3")]
    removed = apps.patch_namespaced_deployment(
        "web",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}},
        _content_type=STRATEGIC,
    )
    assert containers(removed) == [("web", "registry.example/web:v3")]


def test_json_patch_operations_and_failed_test(apps, namespace):
    apps.create_namespaced_deployment(namespace, two_containers("web"))
    patched = apps.patch_namespaced_deployment(
        "web",
        namespace,
        [
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "c"}},
            {"op": "remove", "path": "/spec/template/spec/containers/1"},
        ],
        _content_type=JSON_PATCH,
    )
    assert patched.spec.replicas == 3 and patched.metadata.annotations == {"a/b": "c"}
    assert containers(patched) == [("web", "registry.example/web:v1")]
    with pytest.raises(ApiException) as failed:
        apps.patch_namespaced_deployment(
            "web", namespace, [{"op": "test", "path": "/spec/replicas", "value": 9}], _content_type=JSON_PATCH
        )
    assert failed.value.status == 422


def test_server_side_apply_creates_when_missing_and_records_the_manager(apps, namespace):
    created = apply_deployment(apps, namespace, deployment("web"))
    assert created.metadata.generation == 1
    entry = created.metadata.managed_fields[0]
    assert (entry.manager, entry.operation, entry.fields_type) == ("paas-portal", "Apply", "FieldsV1")
    assert 'k:{"name":"web"}' in entry.fields_v1["f:spec"]["f:template"]["f:spec"]["f:containers"]


def test_applying_the_same_manifest_again_changes_nothing(apps, namespace):
    manifest = deployment("web", replicas=2)
    apply_deployment(apps, namespace, manifest)
    settled = wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=5)
    again = apply_deployment(apps, namespace, manifest)
    assert again.metadata.resource_version == settled.metadata.resource_version
    assert again.metadata.generation == settled.metadata.generation == 1


def test_apply_removes_fields_the_manager_stopped_applying(apps, namespace):
    manifest = deployment("web", annotations={"a": "1", "b": "2"})
    apply_deployment(apps, namespace, manifest)
    manifest["metadata"]["annotations"] = {"a": "1"}
    changed = apply_deployment(apps, namespace, manifest)
    assert changed.metadata.annotations.get("b") is None and changed.metadata.annotations["a"] == "1"


def test_apply_conflicts_with_another_manager_unless_forced(apps, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=2))
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 5}}, field_manager="kubectl-scale")
    with pytest.raises(ApiException) as conflict:
        apply_deployment(apps, namespace, deployment("web", replicas=3), force=False)
    body = json.loads(conflict.value.body)
    assert (conflict.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas'
    )
    forced = apply_deployment(apps, namespace, deployment("web", replicas=3), force=True)
    assert forced.spec.replicas == 3
    managers = {entry.manager for entry in forced.metadata.managed_fields}
    assert "paas-portal" in managers


def test_apply_of_other_kinds_and_the_scale_subresource(api_client, apps, namespace):
    from kubernetes import client

    networking = client.NetworkingV1Api(api_client)
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {
            "rules": [
                {
                    "host": "web.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    applied = networking.patch_namespaced_ingress(
        "web", namespace, ingress, field_manager="paas-portal", force=True, _content_type=APPLY
    )
    assert applied.spec.rules[0].host == "web.example"
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    scale = apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3
    assert apps.read_namespaced_deployment_scale("web", namespace).status.selector == "app=web"
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 3
