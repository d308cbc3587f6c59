"""Incidents open from what the cluster shows, tell the tenant, act, and resolve by themselves.

A release that went live and then starts crash-looping opens one incident (not one per read),
announces it to webhooks and by email, is rolled back automatically where the environment rolls
back, and the incident resolves once the old release runs well again. People acknowledge and
resolve incidents through the API; another tenant's incident is a 404."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from apps.clusters.kube import KubeClient
from apps.deployments.models import Deployment, DeploySettings
from apps.deployments.services import deploy_settings_for
from apps.webhooks.models import WebhookDelivery
from apps.workloads.models import Cause, Incident, Workload
from apps.workloads.observe import causes_of, trouble_of
from apps.workloads.watcher import Watcher
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished
from tests.webhooks.conftest import private_endpoint

NS = "acme--dev"
URL = "/api/v1/incidents/"


def pod(name="web-1", state="ready", *, age=10, last_reason=""):
    created = (datetime.now(UTC) - timedelta(seconds=age)).isoformat()
    return {"name": name, "state": state, "message": state, "last_reason": last_reason, "created_at": created}


def test_causes_are_named_from_pods_rollout_and_autoscaler():
    now = datetime.now(UTC)
    assert causes_of(None, trouble_of([pod(), pod("web-2")], now=now), None) == {}
    found = causes_of(
        None,
        trouble_of(
            [pod("web-1", "crash loop"), pod("web-2", last_reason="OOMKilled"), pod("web-3", "starting", age=600)],
            now=now,
        ),
        {"current": 5, "desired": 7, "min": 1, "max": 5},
    )
    assert set(found) == {Cause.CRASH_LOOP, Cause.OOM_KILLED, Cause.UNREADY, Cause.AUTOSCALER_AT_MAX}
    assert "web-3" in found[Cause.UNREADY] and "maximum of 5" in found[Cause.AUTOSCALER_AT_MAX]
    assert causes_of(None, trouble_of([pod("web-4", "starting", age=30)], now=now), None) == {}, (
        "a slow start is not trouble"
    )
    refused = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "ReplicaFailure", "status": "True", "message": "exceeded quota: pods"}],
        },
    }
    assert "exceeded quota" in causes_of(refused, trouble_of([], now=now), None)[Cause.QUOTA]


@pytest.fixture
def cluster(world, sandbox, celery_worker):
    registered(world, sandbox)
    return KubeClient(sandbox.api_client())


@pytest.fixture
def watcher():
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    thread.start()
    yield
    stop.set()


def start_crashing(cluster: KubeClient) -> None:
    """The live release begins to crash (a dependency gone, say): its pods restart into a crash loop."""
    replica_sets, _ = cluster.list("apps/v1", "ReplicaSet", NS, label_selector="paas.dev/application=web")
    for rs in replica_sets:
        if rs["spec"].get("replicas"):
            annotations = {"sandbox.paas.dev/fault": "crash"}
            cluster.patch(
                "apps/v1", "ReplicaSet", rs["metadata"]["name"], NS, {"metadata": {"annotations": annotations}}
            )
    pods, _ = cluster.list("v1", "Pod", NS, label_selector="paas.dev/application=web")
    for item in pods:
        cluster.delete("v1", "Pod", item["metadata"]["name"], NS)


pytestmark = pytest.mark.django_db(transaction=True)


def test_a_release_that_degrades_after_going_live_is_one_incident_announced_rolled_back_and_resolved(
    world, api, cluster, watcher, mailoutbox
):
    app = make_app(world.acme)
    developer = world.user("developer")
    first = finished(deploy(api, developer, make_release(app)).json()["id"])
    second = finished(deploy(api, developer, make_release(app, image="registry.example/web:2.0")).json()["id"])
    assert (first.state, second.state) == ("succeeded", "succeeded")
    settings = deploy_settings_for(world.acme.environments.get(name="dev"))
    DeploySettings.objects.filter(pk=settings.pk).update(auto_rollback=True)
    endpoint = private_endpoint(world.acme, "http://127.0.0.1:9/hook", events=("incident.*",))

    start_crashing(cluster)
    incident = wait_for(lambda: Incident.objects.filter(cause=Cause.CRASH_LOOP).first(), timeout=30)
    assert incident.workload.application == app and "Containers keep crashing" in incident.message
    rollback = wait_for(lambda: Deployment.objects.filter(rollback_of=second).first(), timeout=20)
    assert finished(rollback.pk).state == "succeeded" and rollback.release.number == 1

    resolved = wait_for(lambda: Incident.objects.filter(pk=incident.pk, state="resolved").first(), timeout=40)
    assert resolved.resolved_by is None and "Rolled back automatically to release #1" in resolved.action
    seen = list(Incident.objects.values_list("cause", "state", "message"))
    assert len(seen) == 1, f"one incident per cause, however often the workload was read: {seen}"
    workload = Workload.objects.get(application=app)
    wait_for(lambda: Workload.objects.get(pk=workload.pk).health == "healthy", timeout=30)
    assert Workload.objects.get(pk=workload.pk).release.number == 1

    events = sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event", flat=True))
    assert events == ["incident.opened", "incident.resolved"]
    # The watcher in this process opened it (a crash is no deployment event), so its email is here;
    # the resolution may come from the worker's refresh after the rollback, in that process's mailbox.
    [opened] = [mail for mail in mailoutbox if "Incident opened" in mail.subject]
    assert opened.subject == "[acme] Incident opened: Crash loop on web in dev"
    assert {world.user("owner").email, world.user("admin").email} == set(opened.to)
    assert "/t/acme/workloads/" in opened.body


def an_open_incident(world) -> Incident:
    """A row as the watcher would have written it; nothing refreshes it here, so the incident stays open."""
    app = make_app(world.acme)
    workload = Workload.objects.create(
        tenant=world.acme, application=app, environment=world.acme.environments.get(name="dev")
    )
    now = datetime.now(UTC)
    return Incident.objects.create(
        tenant=world.acme, workload=workload, cause=Cause.UNREADY, message="not ready", first_seen=now, last_seen=now
    )


def test_people_acknowledge_and_resolve_incidents_and_another_tenant_sees_none(world, api):
    incident = an_open_incident(world)

    api.as_user(world.user("viewer"))
    assert [row["id"] for row in api.get(URL, {"state": "open"}).json()["results"]] == [incident.pk]
    assert api.post(f"{URL}{incident.pk}/acknowledge/").status_code == 403
    api.as_user(world.user("developer"))
    answer = api.post(f"{URL}{incident.pk}/acknowledge/").json()
    assert answer["acknowledged_by"] == world.user("developer").email
    answer = api.post(f"{URL}{incident.pk}/resolve/").json()
    assert (answer["state"], answer["resolved_by"]) == ("resolved", world.user("developer").email)
    assert api.post(f"{URL}{incident.pk}/resolve/").json()["code"] == "incident_resolved"

    api.as_user(world.outsider)
    assert api.get(URL).json()["results"] == []
    for path in ("", "acknowledge/", "resolve/"):
        call = api.get if not path else api.post
        assert call(f"{URL}{incident.pk}/{path}").status_code == 404

    page = api.as_user(world.user("viewer")).get("/t/acme/workloads/incidents/").content.decode()
    assert f'data-incident="{incident.pk}"' in page and "by " + world.user("developer").email in page


def test_a_crash_loop_is_one_incident_open_all_along_and_resolves_once_the_cause_stayed_away(
    world, api, cluster, watcher, settings
):
    """Between crashes a crash-looping pod starts and runs: reads that catch it then do not see the
    crash loop, and that is no cure. The incident stays open, told once, until the cause has stayed
    away INCIDENT_RESOLVE_AFTER_SECONDS; then it resolves with no further change to prompt a read."""
    settings.INCIDENT_RESOLVE_AFTER_SECONDS = 8
    app = make_app(world.acme)
    assert finished(deploy(api, world.user("developer"), make_release(app)).json()["id"]).state == "succeeded"
    endpoint = private_endpoint(world.acme, "http://127.0.0.1:9/hook", events=("incident.*",))

    start_crashing(cluster)
    incident = wait_for(lambda: Incident.objects.filter(cause=Cause.CRASH_LOOP).first(), timeout=30)
    states, until = set(), time.monotonic() + 15
    while time.monotonic() < until:
        states.add(Incident.objects.get(pk=incident.pk).state)
        time.sleep(0.2)
    incident.refresh_from_db()
    assert states == {"open"} and incident.count == 1, (states, incident.count)

    replica_sets, _ = cluster.list("apps/v1", "ReplicaSet", NS, label_selector="paas.dev/application=web")
    for rs in replica_sets:
        patch = {"metadata": {"annotations": {"sandbox.paas.dev/fault": None}}}
        cluster.patch("apps/v1", "ReplicaSet", rs["metadata"]["name"], NS, patch)
    for item in cluster.list("v1", "Pod", NS, label_selector="paas.dev/application=web")[0]:
        cluster.delete("v1", "Pod", item["metadata"]["name"], NS)
    resolved = wait_for(lambda: Incident.objects.filter(pk=incident.pk, state="resolved").first(), timeout=40)
    assert resolved.resolved_at - resolved.clear_since >= timedelta(seconds=8)
    events = sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event", flat=True))
    assert events == ["incident.opened", "incident.resolved"]


@pytest.mark.django_db(transaction=True)
def test_people_acknowledging_or_resolving_at_once_act_once(world):
    from django.db import connection

    from apps.audit.models import AuditEvent
    from apps.core.errors import ApplicationError
    from apps.tenants.principals import Principal
    from apps.workloads.incidents import incident_acknowledge, incident_resolve

    incident = an_open_incident(world)
    people = [world.user(role) for role in ("owner", "admin", "developer")] * 2

    def at_once(service) -> list[str]:
        start, outcomes = threading.Barrier(len(people)), []

        def one(user):
            try:
                start.wait()
                done = service(actor=Principal(user), incident=Incident.objects.get(pk=incident.pk))
                outcomes.append(done.acknowledged_by.email if service is incident_acknowledge else "resolved")
            except ApplicationError as refused:
                outcomes.append(refused.code)
            finally:
                connection.close()

        threads = [threading.Thread(target=one, args=(user,)) for user in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return outcomes

    acknowledged = at_once(incident_acknowledge)
    assert len(acknowledged) == len(people) and len(set(acknowledged)) == 1  # everyone is told who was first
    assert sorted(at_once(incident_resolve)) == sorted(["resolved"] + ["incident_resolved"] * (len(people) - 1))
    actions = list(AuditEvent.objects.filter(action__startswith="incident.").values_list("action", flat=True))
    assert sorted(actions) == ["incident.acknowledge", "incident.resolve"]
    assert Incident.objects.get(pk=incident.pk).acknowledged_by.email == acknowledged[0]
