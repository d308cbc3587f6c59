"""StatefulSets: pods with stable names made in order, rolled highest ordinal first, scaled down from
the top, and a status as kube-controller-manager reports it."""

from kubernetes import client

from .conftest import wait_for


def stateful_set(name, *, replicas=3, image="registry.example/db:1", policy=None, update=None):
    spec = {
        "replicas": replicas,
        "serviceName": name,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "main", "image": image}]},
        },
    }
    if policy:
        spec["podManagementPolicy"] = policy
    if update:
        spec["updateStrategy"] = update
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": spec}


def pods_of(core, namespace, name):
    items = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
    return {pod.metadata.name: pod for pod in items}


def ready(pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or ())


def settled(apps, namespace, name, replicas):
    found = apps.read_namespaced_stateful_set(name, namespace)
    status = found.status
    done = (
        status.observed_generation == found.metadata.generation
        and status.ready_replicas == replicas
        and status.updated_replicas == replicas
        and status.replicas == replicas
        and status.current_revision == status.update_revision
    )
    return found if done else None


def test_pods_get_stable_names_and_are_made_one_after_another(apps, core, namespace):
    apps.create_namespaced_stateful_set(namespace, stateful_set("db"))
    seen = []

    def each_waits_for_the_one_before():
        pods = pods_of(core, namespace, "db")
        seen.append({name: ready(pod) for name, pod in pods.items()})
        return len(pods) == 3 and all(map(ready, pods.values()))

    wait_for(each_waits_for_the_one_before, timeout=15, interval=0.02)
    for snapshot in seen:  # never a pod whose predecessor was not ready yet
        for ordinal in range(1, 3):
            if f"db-{ordinal}" in snapshot:
                assert snapshot.get(f"db-{ordinal - 1}") is True, snapshot
    found = wait_for(lambda: settled(apps, namespace, "db", 3))
    revision = found.status.update_revision
    assert revision.startswith("db-") and found.status.available_replicas == 3
    for ordinal in range(3):
        pod = core.read_namespaced_pod(f"db-{ordinal}", namespace)
        assert pod.spec.hostname == f"db-{ordinal}" and pod.spec.subdomain == "db"
        assert pod.metadata.labels["controller-revision-hash"] == revision
        assert pod.metadata.labels["statefulset.kubernetes.io/pod-name"] == f"db-{ordinal}"
        assert pod.metadata.labels["apps.kubernetes.io/pod-index"] == str(ordinal)
        assert pod.metadata.owner_references[0].kind == "StatefulSet"
    messages = [e.message for e in core.list_namespaced_event(namespace).items if e.reason == "SuccessfulCreate"]
    assert "create Pod db-0 in StatefulSet db successful" in messages


def test_a_new_template_rolls_the_pods_from_the_highest_ordinal_down(apps, core, namespace):
    apps.create_namespaced_stateful_set(namespace, stateful_set("db"))
    old = wait_for(lambda: settled(apps, namespace, "db", 3)).status.update_revision
    created = {name: pod.metadata.uid for name, pod in pods_of(core, namespace, "db").items()}
    order = []

    def replaced_in_order():
        for name, pod in pods_of(core, namespace, "db").items():
            if pod.metadata.uid != created[name] and name not in order:
                order.append(name)
        return len(order) == 3

    apps.patch_namespaced_stateful_set(
        "db", namespace, {"spec": {"template": {"metadata": {"annotations": {"restartedAt": "now"}}}}}
    )
    wait_for(replaced_in_order, timeout=20, interval=0.02)
    assert order == ["db-2", "db-1", "db-0"]
    found = wait_for(lambda: settled(apps, namespace, "db", 3))
    assert found.status.current_revision == found.status.update_revision != old
    for pod in pods_of(core, namespace, "db").values():
        assert pod.metadata.annotations["restartedAt"] == "now"


def test_a_partition_keeps_the_lower_ordinals_and_ondelete_waits_for_a_delete(apps, core, namespace):
    update = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    apps.create_namespaced_stateful_set(namespace, stateful_set("db", update=update))
    old = wait_for(lambda: settled(apps, namespace, "db", 3)).status.update_revision
    apps.patch_namespaced_stateful_set(
        "db",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "registry.example/db:2"}]}}}},
    )

    def only_the_top_one_moved():
        found = apps.read_namespaced_stateful_set("db", namespace)
        return found.status.updated_replicas == 1 and found.status.ready_replicas == 3 and found

    found = wait_for(only_the_top_one_moved)
    assert found.status.current_revision == old and found.status.current_replicas == 2
    images = {name: pod.spec.containers[0].image for name, pod in pods_of(core, namespace, "db").items()}
    assert images == {"db-0": "registry.example/db:1", "db-1": "registry.example/db:1", "db-2": "registry.example/db:2"}

    apps.create_namespaced_stateful_set(namespace, stateful_set("kv", replicas=2, update={"type": "OnDelete"}))
    wait_for(lambda: settled(apps, namespace, "kv", 2))
    apps.patch_namespaced_stateful_set(
        "kv",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "registry.example/db:2"}]}}}},
    )
    wait_for(lambda: apps.read_namespaced_stateful_set("kv", namespace).status.observed_generation == 2)
    assert {pod.spec.containers[0].image for pod in pods_of(core, namespace, "kv").values()} == {
        "registry.example/db:1"
    }
    core.delete_namespaced_pod("kv-1", namespace)
    wait_for(
        lambda: (pod := pods_of(core, namespace, "kv").get("kv-1")) and pod.spec.containers[0].image.endswith(":2")
    )
    assert core.read_namespaced_pod("kv-0", namespace).spec.containers[0].image.endswith(":1")


def test_scaling_down_removes_the_highest_ordinals_and_parallel_makes_all_at_once(apps, core, namespace):
    apps.create_namespaced_stateful_set(namespace, stateful_set("db", replicas=3))
    wait_for(lambda: settled(apps, namespace, "db", 3))
    apps.patch_namespaced_stateful_set_scale("db", namespace, {"spec": {"replicas": 1}})
    wait_for(lambda: set(pods_of(core, namespace, "db")) == {"db-0"})
    wait_for(lambda: settled(apps, namespace, "db", 1))

    apps.create_namespaced_stateful_set(namespace, stateful_set("fast", replicas=3, policy="Parallel"))
    first = wait_for(lambda: (pods := pods_of(core, namespace, "fast")) and pods, interval=0.01)
    assert len(first) == 3 and not any(map(ready, first.values()))  # made together, none waited for another
    wait_for(lambda: settled(apps, namespace, "fast", 3))


def test_a_deleted_pod_is_made_again_and_deleting_the_set_removes_its_pods(apps, core, namespace):
    apps.create_namespaced_stateful_set(namespace, stateful_set("db", replicas=2))
    wait_for(lambda: settled(apps, namespace, "db", 2))
    uid = core.read_namespaced_pod("db-1", namespace).metadata.uid
    core.delete_namespaced_pod("db-1", namespace)
    wait_for(lambda: (pod := pods_of(core, namespace, "db").get("db-1")) and pod.metadata.uid != uid and ready(pod))
    apps.delete_namespaced_stateful_set("db", namespace, body=client.V1DeleteOptions(propagation_policy="Background"))
    wait_for(lambda: not pods_of(core, namespace, "db"))
