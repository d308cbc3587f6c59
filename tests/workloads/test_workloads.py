"""Workloads are the present, read from the cluster: the live release, pods, health and drift. Drift is
what re-applying the live release would change; fields the portal never sets, and replicas a person
set through the portal, are not drift. Another tenant's workload is a 404."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.clusters.kube import KubeClient
from apps.workloads.models import Cause, Incident, Workload
from apps.workloads.services import sampled, workload_refresh
from apps.workloads.watcher import Watcher
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/workloads/"
NS = "acme--dev"


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


@pytest.fixture
def running(world, api, cluster):
    """web release #1 deployed to acme's dev and settled with 2 ready pods."""
    app = make_app(world.acme)
    deployment = finished(deploy(api, world.user("developer"), make_release(app)).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome
    return wait_for(lambda: Workload.objects.filter(application=app, health="healthy").first(), timeout=20)


def refreshed(workload) -> Workload:
    return workload_refresh(application=workload.application, environment=workload.environment)


def test_a_deployed_application_is_a_healthy_synced_workload_with_the_cluster_pods(world, api, running, cluster):
    pods, _ = cluster.list("v1", "Pod", NS, label_selector="paas.dev/application=web")
    api.as_user(world.user("viewer"))
    [row] = api.get(URL, {"application": "web", "environment": "dev"}).json()["results"]
    assert (row["release"], row["health"], row["sync"], row["drift"]) == (1, "healthy", "synced", [])
    assert row["image"] == "registry.example/web:1.0" and row["replicas"] == 2 and row["ready_replicas"] == 2
    assert {pod["name"] for pod in row["pods"]} == {pod["metadata"]["name"] for pod in pods}
    assert all(pod["ready"] and pod["release"] == "1" for pod in row["pods"])
    assert api.get(URL, {"health": "degraded"}).json()["results"] == []


def test_set_image_scale_and_a_deleted_service_behind_the_portals_back_are_drift(running, cluster):
    deployment = cluster.get("apps/v1", "Deployment", "web", NS)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "registry.example/web:hotfix"
    # As kubectl set image and kubectl scale would: another writer, taking the fields over.
    cluster.patch(
        "apps/v1", "Deployment", "web", NS, {"spec": {"replicas": 3, "template": {"spec": {"containers": containers}}}}
    )
    cluster.delete("v1", "Service", "web", NS)

    workload = refreshed(running)
    assert workload.sync == "out_of_sync"
    found = {(d["kind"], d["path"]): (d["desired"], d["live"]) for d in workload.drift}
    assert found[("Deployment", "spec.replicas")] == (2, 3)
    # The field itself, not the two container lists it is in.
    image = found.pop(("Deployment", "spec.template.spec.containers[web].image"))
    assert image == ("registry.example/web:1.0", "registry.example/web:hotfix")
    assert not [path for _, path in found if "containers" in path], found
    assert found[("Service", "")] == ("present", "missing")
    assert workload.image == "registry.example/web:hotfix", "the image is what the cluster runs"


def test_taking_the_portals_annotation_off_does_not_hide_drift(running, cluster):
    """Which deployment applied an object is a line of metadata anyone may remove; what the portal deployed
    there last is still what should run, so the objects are judged by it all the same."""
    deployment = cluster.get("apps/v1", "Deployment", "web", NS)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "registry.example/miner:latest"
    cluster.patch("apps/v1", "Deployment", "web", NS, {"spec": {"template": {"spec": {"containers": containers}}}})
    cluster.patch("apps/v1", "Deployment", "web", NS, {"metadata": {"annotations": {"paas.dev/deployment": None}}})
    assert "paas.dev/deployment" not in (
        cluster.get("apps/v1", "Deployment", "web", NS)["metadata"].get("annotations") or {}
    )

    workload = refreshed(running)
    assert workload.sync == "out_of_sync"
    found = {(d["kind"], d["path"]): (d["desired"], d["live"]) for d in workload.drift}
    assert found[("Deployment", "spec.template.spec.containers[web].image")] == (
        "registry.example/web:1.0",
        "registry.example/miner:latest",
    )


def test_a_service_whose_selector_picks_no_ready_pod_is_degraded_not_healthy(running, cluster):
    """A key added to the Service's selector is not drift (the portal's own keys are all there), but the
    Service then routes to nothing: the workload says so rather than healthy."""
    assert refreshed(running).health == "healthy"
    cluster.patch("v1", "Service", "web", NS, {"spec": {"selector": {"blackhole": "yes"}}})
    workload = refreshed(running)
    assert workload.health == "degraded", workload.health_reason
    assert workload.health_reason == "The Service web routes to none of the ready pods: its selector matches none."
    cluster.patch("v1", "Service", "web", NS, {"spec": {"selector": {"blackhole": None}}})
    assert refreshed(running).health == "healthy"


def test_a_label_that_is_not_ours_is_not_drift(running, cluster):
    cluster.patch("apps/v1", "Deployment", "web", NS, {"metadata": {"labels": {"team.example/owner": "ops"}}})
    cluster.patch("v1", "Service", "web", NS, {"metadata": {"annotations": {"monitoring.example/scrape": "true"}}})
    workload = refreshed(running)
    assert (workload.sync, workload.drift) == ("synced", [])


def test_replicas_scaled_through_the_portal_are_desired_state_not_drift(world, api, running, cluster):
    deployment = running.application.deployments.get()
    api.as_user(world.user("developer"))
    assert api.post(f"/api/v1/deployments/{deployment.pk}/scale/", {"replicas": 3}, format="json").status_code == 200
    workload = wait_for(lambda: (w := refreshed(running)).ready_replicas == 3 and w, timeout=30)
    assert (workload.replicas, workload.sync, workload.drift) == (3, "synced", [])


def test_a_crash_looping_release_is_degraded_with_the_pod_named(world, api, cluster):
    app = make_app(world.acme)
    make_release(app)
    bad = make_release(app, image="registry.example/web:v2-crash")
    deploy(api, world.user("developer"), bad, progress_deadline_seconds=5)
    workload = wait_for(
        lambda: (w := Workload.objects.filter(application=app).first()) and refreshed(w).health == "degraded" and w,
        timeout=40,
    )
    workload.refresh_from_db()
    assert "crash loop" in workload.health_reason or "rollout failed" in workload.health_reason.lower()
    assert any(pod["state"] == "crash loop" for pod in workload.pods)


def test_logs_and_events_come_from_the_cluster(world, api, running, cluster):
    api.as_user(world.user("viewer"))
    pods = [pod["name"] for pod in running.pods]
    every = api.get(f"{URL}{running.pk}/logs/")
    assert every.status_code == 200 and every["Content-Type"].startswith("text/plain")
    assert {line.split("]")[0].lstrip("[") for line in every.content.decode().splitlines()} == set(pods)
    one = api.get(f"{URL}{running.pk}/logs/", {"pod": pods[0], "tail": 5}).content.decode()
    assert "started from registry.example/web:1.0" in one and "[" not in one.split(" ")[0]
    assert api.get(f"{URL}{running.pk}/logs/", {"pod": "someone-else"}).status_code == 404
    assert api.get(f"{URL}{running.pk}/logs/", {"tail": "lots"}).status_code == 400

    events = api.get(f"{URL}{running.pk}/events/").json()
    assert {"cluster", "portal"} <= {event["source"] for event in events}
    assert any(event["object"].startswith("Pod/web-") for event in events)


def test_another_tenants_workload_is_a_404(world, api, running):
    api.as_user(world.outsider)
    assert api.get(URL).json()["results"] == []
    for path in ("", "logs/", "events/"):
        assert api.get(f"{URL}{running.pk}/{path}").status_code == 404


def test_the_watcher_sees_drift_without_being_asked(running, cluster):
    stop = threading.Event()
    watcher = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    watcher.start()
    try:
        cluster.patch("apps/v1", "Deployment", "web", NS, {"spec": {"replicas": 4}})
        wait_for(lambda: Workload.objects.get(pk=running.pk).sync == "out_of_sync", timeout=15)
        assert Workload.objects.get(pk=running.pk).replicas == 4
    finally:
        stop.set()
        watcher.join(timeout=10)


def test_the_pages_show_workloads_of_the_tenant_only(world, client, running):
    client.force_login(world.user("viewer"))
    listing = client.get("/t/acme/workloads/").content.decode()
    assert f'data-workload="{running.pk}"' in listing and "Healthy" in listing
    assert client.get("/t/acme/workloads/?health=degraded").content.decode().count("data-workload=") == 0
    detail = client.get(f"/t/acme/workloads/{running.pk}/").content.decode()
    assert "The cluster runs exactly what release #1 says." in detail and 'data-pod="web-' in detail
    started = running.pods[0]["created_at"]  # the cluster's ISO text, e.g. 2026-12-06T08:01:02Z
    assert started not in detail, "a pod's start reads like every other time on the page"
    assert started[:10] + " " + started[11:19] in detail
    assert 'id="running-now"' in client.get("/t/acme/apps/web/").content.decode()
    client.force_login(world.outsider)
    assert client.get(f"/t/globex/workloads/{running.pk}/").status_code == 404
    assert client.get(f"/t/acme/workloads/{running.pk}/").status_code == 404


def test_health_and_drift_feed_the_workloads_cmdb_item_and_its_impact(world, api, client, running, cluster):
    from apps.cmdb import keys
    from apps.cmdb.models import ChangeRecord, ConfigurationItem

    item = ConfigurationItem.objects.get(key=keys.object_key(NS, "workload", "web"))
    # The read that made the row healthy (in the worker) writes the item just after the row.
    wait_for(lambda: ConfigurationItem.objects.get(pk=item.pk).discovered_attributes.get("health"), timeout=10)
    item.refresh_from_db()
    attributes = item.discovered_attributes
    assert (attributes["health"], attributes["sync"], attributes["live_release"]) == ("healthy", "synced", 1)
    cluster.patch("apps/v1", "Deployment", "web", NS, {"spec": {"replicas": 3}})
    refreshed(running)
    item.refresh_from_db()
    assert item.discovered_attributes["sync"] == "out_of_sync"
    assert "spec.replicas" in item.discovered_attributes["drift"]
    assert ChangeRecord.objects.filter(item=item, summary__contains="out of sync").exists()

    api.as_user(world.user("viewer"))
    application = ConfigurationItem.objects.get(key=keys.application_key(running.application_id))
    reached = api.get(f"/api/v1/cmdb/items/{application.pk}/impact/").json()["items"]
    [workload] = [row for row in reached if row["id"] == item.pk]
    health = item.discovered_attributes["health"]  # progressing while the third pod starts, or healthy
    assert (workload["health"], workload["sync"]) == (health, "out_of_sync")
    client.force_login(world.user("viewer"))
    page = client.get(f"/t/acme/cmdb/{application.pk}/").content.decode()
    assert f'data-health="{health}"' in page and "Out of sync" in page
    # The workload's and its incidents' impact link lands on the item's impact analysis.
    link = client.get(f"/t/acme/cmdb/workloads/{running.pk}/")
    assert link.status_code == 302 and link["Location"] == f"/t/acme/cmdb/{item.pk}/#impact"
    assert 'id="impact"' in client.get(link["Location"]).content.decode()


def test_the_autoscalers_decisions_reach_the_timeline_and_the_replica_chart(world, api, client, cluster):
    app = make_app(world.acme)
    release = make_release(app, autoscale_min=2, autoscale_max=4, autoscale_cpu_target=50)
    deployment = finished(deploy(api, world.user("developer"), release).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome
    # The sandbox's stand-in for metrics: four times the target load, so the autoscaler wants its maximum.
    cluster.patch("apps/v1", "Deployment", "web", NS, {"metadata": {"annotations": {"sandbox.paas.dev/load": "200"}}})
    wait_for(
        lambda: (
            (cluster.get("autoscaling/v2", "HorizontalPodAutoscaler", "web", NS)["status"] or {}).get("desiredReplicas")
            == 4
        ),
        timeout=15,
    )
    workload = workload_refresh(application=app, environment=world.acme.environments.get(name="dev"))
    assert workload.autoscaler["desired"] == 4 and workload.autoscaler["max"] == 4
    minute, desired, ready, decided = workload.replica_history[-1]
    assert (desired, decided) == (4, 4) and minute.endswith(":00+00:00")

    api.as_user(world.user("viewer"))
    events = api.get(f"{URL}{workload.pk}/events/").json()
    rescale = [e for e in events if e["object"] == "HorizontalPodAutoscaler/web" and e["reason"] == "SuccessfulRescale"]
    assert rescale and "New size: 4" in rescale[0]["message"]

    # A read a minute earlier, when the autoscaler wanted 2, and two reads in this minute: one sample each.
    now = timezone.now()
    before = {"replicas": 2, "ready_replicas": 2, "autoscaler": {"desired": 2}}
    history = sampled([], before, at=now - timedelta(minutes=1))
    history = sampled(history, {**before, "ready_replicas": 1}, at=now)
    history = sampled(history, {"replicas": 4, "ready_replicas": 2, "autoscaler": workload.autoscaler}, at=now)
    assert [sample[1:] for sample in history] == [[2, 2, 2], [4, 2, 4]]
    assert sampled(history, before, at=now + timedelta(hours=7))[0][1:] == [2, 2, 2], "older than 6 h is dropped"
    Workload.objects.filter(pk=workload.pk).update(replica_history=history)
    client.force_login(world.user("viewer"))
    page = client.get(f"/t/acme/workloads/{workload.pk}/").content.decode()
    assert 'id="replica-chart"' in page and 'data-decision="4"' in page


def test_a_workloads_events_are_its_own_and_its_incidents(world, api, running, cluster):
    """`web-api`'s objects are named `web-api-…`, which starts like `web`'s: they are still not web's."""
    other = make_app(world.acme, name="web-api")
    asked = deploy(api, world.user("developer"), make_release(other, image="registry.example/web-api:pull-error"))
    assert asked.status_code == 201, asked.json()
    wait_for(
        lambda: any(e["involvedObject"]["name"].startswith("web-api-") for e in cluster.list("v1", "Event", NS)[0]),
        timeout=20,
    )
    now = timezone.now()
    Incident.objects.create(
        tenant=world.acme,
        workload=running,
        cause=Cause.UNREADY,
        message="Pod web-x is not ready",
        count=2,
        first_seen=now - timedelta(minutes=3),
        last_seen=now,
        resolved_at=now,
    )
    api.as_user(world.user("viewer"))
    events = api.get(f"{URL}{running.pk}/events/").json()
    assert not [e for e in events if "web-api" in e["object"]], "another application's events"
    assert any(e["object"].startswith("Pod/web-") for e in events)
    incident = [(e["reason"], e["message"]) for e in events if e["object"].startswith("Incident #")]
    assert incident == [
        ("resolved", "by itself: the cause went away"),
        ("opened", "Pods not ready (×2): Pod web-x is not ready"),
    ]


def test_opening_a_workload_reads_the_cluster_unless_a_read_is_fresh(world, api, running, settings):
    """Each read lists the workload's objects and dry-runs its release: a page reloaded in a loop reaches
    the cluster at most every WORKLOAD_FRESH_SECONDS."""
    settings.WORKLOAD_FRESH_SECONDS = 30
    time.sleep(2)  # the worker's refreshes after the deployment's last state change are done
    api.as_user(world.user("viewer"))
    read = api.get(f"{URL}{running.pk}/").json()["observed_at"]
    for _ in range(5):
        assert api.get(f"{URL}{running.pk}/").json()["observed_at"] == read
    Workload.objects.filter(pk=running.pk).update(observed_at=timezone.now() - timedelta(seconds=31))
    assert api.get(f"{URL}{running.pk}/").json()["observed_at"] > read


def test_every_pods_logs_come_in_the_order_they_were_written(world, api, running, sandbox):
    first, second = sorted(pod["name"] for pod in running.pods)
    for n, pod in enumerate([second, first, second, first]):
        sandbox.write_log(NS, pod, f"line {n}")
        time.sleep(0.01)
    api.as_user(world.user("viewer"))
    text = api.get(f"{URL}{running.pk}/logs/").content.decode()
    ours = [line for line in text.splitlines() if " line " in line]
    assert ours == [f"[{second}] line 0", f"[{first}] line 1", f"[{second}] line 2", f"[{first}] line 3"]


def test_logs_hold_the_newest_lines_within_their_size_however_many_are_asked_for(world, api, running, sandbox):
    from apps.workloads.live import LOG_BYTES

    pods = sorted(pod["name"] for pod in running.pods)
    filler = "x" * 2000
    for pod in pods:  # about 6 MB a pod, three times an answer's share of it
        sandbox.write_log(NS, pod, *(f"{pod} line {n} {filler}" for n in range(3000)))
        sandbox.write_log(NS, pod, f"{pod} newest")
    api.as_user(world.user("viewer"))
    answer = api.get(f"{URL}{running.pk}/logs/", {"tail": 10000})
    text = answer.content.decode()
    assert answer["Logs-Truncated"] == "true"
    assert len(answer.content) <= LOG_BYTES + 10000 * 40  # each line's "[pod] " prefix comes on top
    lines = text.splitlines()
    assert all(line.startswith(f"[{line[1:].partition(']')[0]}] ") for line in lines)  # whole lines only
    assert {f"{pod} newest" for pod in pods} <= {line.partition("] ")[2] for line in lines}
    assert lines[-1] == f"[{pods[-1]}] {pods[-1]} newest"
    assert not any(f" line 0 {filler}" in line for line in lines)  # the oldest were left out
    one = api.get(f"{URL}{running.pk}/logs/", {"tail": 10000, "pod": pods[0]})
    assert one["Logs-Truncated"] == "true" and len(one.content) <= LOG_BYTES
    assert one.content.decode().splitlines()[-1] == f"{pods[0]} newest"
    assert "Logs-Truncated" not in api.get(f"{URL}{running.pk}/logs/", {"tail": 5})
