"""Objects and their bookkeeping: uid, resourceVersion, generation, selectors, conflicts, cascades."""

import json

import pytest
from kubernetes.client import ApiException

from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, deployment


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def configmap(name, labels=None, data=None):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data or {"key": "value"},
    }


def test_create_fills_identity_and_one_global_resource_version(core, namespace):
    first = core.create_namespaced_config_map(namespace, configmap("first"))
    second = core.create_namespaced_config_map(namespace, configmap("second"))
    assert first.metadata.uid and first.metadata.uid != second.metadata.uid
    assert first.metadata.creation_timestamp is not None
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert core.read_namespaced_config_map("first", namespace).data == {"key": "value"}


def test_list_filters_by_every_label_selector_operator(core, namespace):
    for name, labels in (
        ("a", {"app": "web", "tier": "front"}),
        ("b", {"app": "web", "tier": "back"}),
        ("c", {"app": "api"}),
        ("d", {}),
    ):
        core.create_namespaced_config_map(namespace, configmap(name, labels))

    def names(selector):
        return [c.metadata.name for c in core.list_namespaced_config_map(namespace, label_selector=selector).items]

    assert names("app=web") == ["a", "b"]
    assert names("app==web,tier=back") == ["b"]
    assert names("app!=web") == ["c", "d"]
    assert names("tier in (front, middle)") == ["a"]
    assert names("app notin (web)") == ["c", "d"]
    assert names("tier") == ["a", "b"]
    assert names("!tier") == ["c", "d"]


def test_list_filters_by_field_selector_and_across_namespaces(core, namespace):
    core.create_namespaced_config_map(namespace, configmap("wanted"))
    core.create_namespaced_config_map(namespace, configmap("other"))
    found = core.list_namespaced_config_map(namespace, field_selector="metadata.name=wanted").items
    assert [c.metadata.name for c in found] == ["wanted"]
    everywhere = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={namespace}").items
    assert sorted(c.metadata.name for c in everywhere) == ["other", "wanted"]


def test_list_pages_with_limit_and_continue(core, namespace):
    for i in range(5):
        core.create_namespaced_config_map(namespace, configmap(f"cm-{i}"))
    first = core.list_namespaced_config_map(namespace, limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"]
    assert first.metadata.remaining_item_count == 3
    rest = core.list_namespaced_config_map(namespace, limit=10, _continue=first.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["cm-2", "cm-3", "cm-4"]


def test_replace_with_a_stale_resource_version_is_a_conflict(core, namespace):
    created = core.create_namespaced_config_map(namespace, configmap("settings"))
    stale = created.to_dict(serialize=True)
    current = dict(stale, data={"key": "new"})
    core.replace_namespaced_config_map("settings", namespace, current)
    with pytest.raises(ApiException) as error:
        core.replace_namespaced_config_map("settings", namespace, dict(stale, data={"key": "lost update"}))
    assert error.value.status == 409
    assert status_of(error.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(error.value)["message"]


def test_errors_are_status_objects_with_the_right_codes(core, apps, namespace):
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", namespace)
    assert (missing.value.status, status_of(missing.value)["reason"]) == (404, "NotFound")
    assert status_of(missing.value)["message"] == 'configmaps "nope" not found'
    core.create_namespaced_config_map(namespace, configmap("twice"))
    with pytest.raises(ApiException) as twice:
        core.create_namespaced_config_map(namespace, configmap("twice"))
    assert (twice.value.status, status_of(twice.value)["reason"]) == (409, "AlreadyExists")
    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_config_map("no-such-namespace", configmap("x"))
    assert no_namespace.value.status == 404
    assert status_of(no_namespace.value)["message"] == 'namespaces "no-such-namespace" not found'
    broken = deployment("broken")
    broken["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    broken["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as invalid:
        apps.create_namespaced_deployment(namespace, broken)
    body = status_of(invalid.value)
    assert (invalid.value.status, body["reason"]) == (422, "Invalid")
    fields = {cause["field"] for cause in body["details"]["causes"]}
    assert fields == {"spec.template.metadata.labels", "spec.template.spec.containers[0].image"}
    assert body["message"].startswith('Deployment.apps "broken" is invalid: [')


def test_generation_counts_spec_changes_only(apps, namespace):
    created = apps.create_namespaced_deployment(namespace, deployment("web", replicas=1))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"team": "a"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 2}})
    assert scaled.metadata.generation == 2
    status = apps.patch_namespaced_deployment_status("web", namespace, {"status": {"observedGeneration": 7}})
    assert status.metadata.generation == 2


def test_deleting_a_deployment_cascades_to_replica_sets_and_pods(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=2))
    wait_for(lambda: len(core.list_namespaced_pod(namespace).items) == 2, timeout=5)
    apps.delete_namespaced_deployment("web", namespace)
    wait_for(
        lambda: not apps.list_namespaced_replica_set(namespace).items and not core.list_namespaced_pod(namespace).items,
        timeout=5,
    )


def test_orphan_propagation_keeps_dependents_without_their_owner(apps, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    rs = wait_for(lambda: apps.list_namespaced_replica_set(namespace).items, timeout=5)[0]
    apps.delete_namespaced_deployment("web", namespace, propagation_policy="Orphan")
    kept = apps.read_namespaced_replica_set(rs.metadata.name, namespace)
    assert not kept.metadata.owner_references


def test_foreground_deletion_waits_for_dependents(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=2))
    wait_for(lambda: len(core.list_namespaced_pod(namespace).items) == 2, timeout=5)
    response = apps.delete_namespaced_deployment("web", namespace, propagation_policy="Foreground")
    assert response["metadata"]["finalizers"] == ["foregroundDeletion"]
    wait_for(lambda: not apps.list_namespaced_deployment(namespace).items, timeout=5)
    assert not core.list_namespaced_pod(namespace).items


def test_deleting_a_namespace_empties_it_first(core, apps, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=1))
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map(namespace, held)
    terminating = core.delete_namespace(namespace)
    assert terminating["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map(namespace, configmap("late"))
    assert refused.value.status == 403
    assert "because it is being terminated" in status_of(refused.value)["message"]
    wait_for(lambda: not apps.list_namespaced_deployment(namespace).items, timeout=5)
    assert core.read_namespace(namespace).status.phase == "Terminating"
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    wait_for(lambda: namespace not in {n.metadata.name for n in core.list_namespace().items}, timeout=5)
    assert not core.list_pod_for_all_namespaces(field_selector=f"metadata.namespace={namespace}").items


def test_secrets_take_string_data_and_services_get_a_cluster_ip(core, namespace):
    secret = core.create_namespaced_secret(namespace, {"metadata": {"name": "db"}, "stringData": {"password": "pw"}})
    assert secret.data == {"password": "cHc="} and secret.type == "Opaque"
    service = core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    assert service.spec.cluster_ip.startswith("10.96.") and service.spec.type == "ClusterIP"
    assert service.spec.ports[0].protocol == "TCP"
