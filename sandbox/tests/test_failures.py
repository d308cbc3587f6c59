"""Injected failures show up in pod and Deployment status the way a real cluster reports them."""

import time

from sandbox.tests.conftest import wait_for

from .conftest import apply_deployment, condition, deployment, rolled_out


def pods(core, namespace):
    return core.list_namespaced_pod(namespace).items


def waiting_reasons(core, namespace):
    return {
        c.state.waiting.reason
        for p in pods(core, namespace)
        for c in p.status.container_statuses or ()
        if c.state.waiting
    }


def timed_out(apps, namespace, name="web"):
    found = apps.read_namespaced_deployment(name, namespace)
    progressing = condition(found, "Progressing")
    return found if progressing and progressing.reason == "ProgressDeadlineExceeded" else None


def event_reasons(core, namespace):
    return {(e.type, e.reason) for e in core.list_namespaced_event(namespace).items}


def test_an_image_that_cannot_be_pulled(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", image="registry.example/web:pull-error", progress_deadline=1))
    seen = set()
    wait_for(
        lambda: seen.update(waiting_reasons(core, namespace)) or {"ErrImagePull", "ImagePullBackOff"} <= seen,
        timeout=10,
    )
    pod = pods(core, namespace)[0]
    assert pod.status.phase == "Pending"
    assert not pod.status.container_statuses[0].ready
    done = wait_for(lambda: timed_out(apps, namespace), timeout=10)
    progressing = condition(done, "Progressing")
    assert progressing.status == "False"
    replica_set = apps.list_namespaced_replica_set(namespace).items[0].metadata.name
    assert progressing.message == f'ReplicaSet "{replica_set}" has timed out progressing.'
    assert condition(done, "Available").reason == "MinimumReplicasUnavailable"
    assert done.status.unavailable_replicas == 2 and not done.status.available_replicas
    assert {("Warning", "Failed"), ("Normal", "BackOff")} <= event_reasons(core, namespace)


def test_a_crashing_container_loops_with_a_rising_restart_count(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=1, image="registry.example/web:crash"))
    status = wait_for(
        lambda: next(
            (c for p in pods(core, namespace) for c in p.status.container_statuses or () if c.restart_count >= 2), None
        ),
        timeout=15,
    )
    assert status.last_state.terminated.exit_code == 1
    assert status.last_state.terminated.reason == "Error"
    wait_for(lambda: "CrashLoopBackOff" in waiting_reasons(core, namespace), timeout=5)
    pod = pods(core, namespace)[0]
    assert pod.status.phase == "Running"
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "False"
    assert ("Warning", "BackOff") in event_reasons(core, namespace)
    found = apps.read_namespaced_deployment("web", namespace)
    assert not found.status.ready_replicas and condition(found, "Available").status == "False"


def test_a_slow_image_becomes_ready_late(apps, core, namespace):
    apply_deployment(
        apps,
        namespace,
        deployment(
            "web",
            replicas=1,
            image="registry.example/web:slow",
            annotations={"sandbox.paas.dev/ready-after-seconds": "0.3"},
        ),
    )
    started = time.monotonic()
    wait_for(lambda: any(p.status.phase == "Running" for p in pods(core, namespace)), timeout=5)
    assert not rolled_out(apps, namespace, "web", 1)
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=10)
    assert time.monotonic() - started >= 2.5


def test_an_update_to_an_unready_image_stalls_and_times_out_but_stays_available(apps, core, namespace):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    apply_deployment(apps, namespace, deployment("web", replicas=2, strategy=strategy, progress_deadline=1))
    wait_for(lambda: rolled_out(apps, namespace, "web", 2), timeout=10)
    apply_deployment(
        apps,
        namespace,
        deployment("web", replicas=2, strategy=strategy, progress_deadline=1, image="registry.example/web:v2-unready"),
    )
    done = wait_for(lambda: timed_out(apps, namespace), timeout=10)
    assert condition(done, "Available").status == "True"
    assert (done.status.updated_replicas, done.status.replicas, done.status.available_replicas) == (1, 3, 2)
    images = sorted(p.spec.containers[0].image for p in pods(core, namespace))
    assert images == ["registry.example/web:v1", "registry.example/web:v1", "registry.example/web:v2-unready"]
    assert ("Warning", "Unhealthy") in event_reasons(core, namespace)


def test_a_fault_annotation_on_the_deployment_applies_to_its_pods(apps, core, namespace):
    apply_deployment(apps, namespace, deployment("web", replicas=1, annotations={"sandbox.paas.dev/fault": "crash"}))
    wait_for(lambda: "CrashLoopBackOff" in waiting_reasons(core, namespace), timeout=10)


def test_the_ready_delay_is_settable_per_deployment(apps, namespace):
    apply_deployment(
        apps, namespace, deployment("web", replicas=1, annotations={"sandbox.paas.dev/ready-after-seconds": "1.5"})
    )
    time.sleep(0.8)
    assert not rolled_out(apps, namespace, "web", 1)
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), timeout=5)
