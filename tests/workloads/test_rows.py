"""A workload's row in the API is built as plain dicts, not by walking DRF's fields: the body must be the
one the serializer's declared fields (the schema) would give, for the list, the detail and the stream.
The list reads neither models nor the replica history, which only the workload page's chart draws."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from apps.deployments.models import Formation
from apps.workloads.api.serializers import WorkloadSerializer
from apps.workloads.models import Workload
from apps.workloads.observe import pod_row
from apps.workloads.selectors import with_formation
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db

URL = "/api/v1/workloads/"


def _pod(name: str, restarts: int, reason: str = "") -> dict:
    last = {"lastState": {"terminated": {"reason": reason}}} if reason else {}
    return pod_row(
        {
            "metadata": {
                "name": name,
                "labels": {"paas.dev/release": "2"},
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {"nodeName": "node-1"},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "web", "restartCount": restarts, "state": {"running": {}}, **last}],
            },
        }
    )


@pytest.fixture
def workloads(world):
    """One workload with everything a read can leave (a release, drift, pods, an autoscaler, a formation,
    a time of reading) and one with nothing read yet."""
    environments = list(world.acme.environments.order_by("pk"))
    web = make_app(world.acme, "web")
    full = Workload.objects.create(
        tenant=world.acme,
        application=web,
        environment=environments[0],
        release=make_release(web, image="registry.example/web:2.0"),
        image="registry.example/web:2.0",
        colour="blue",
        replicas=3,
        ready_replicas=2,
        updated_replicas=3,
        available_replicas=2,
        autoscaler={"current": 2, "desired": 3, "min": 1, "max": 5},
        health="degraded",
        health_reason="web-1 crash loop",
        sync="out_of_sync",
        drift=[
            {"kind": "Deployment", "name": "web", "path": "spec.replicas", "desired": 3, "live": 4},
            {"kind": "Service", "name": "web", "path": "", "desired": "present", "live": "missing"},
        ],
        pods=[_pod("web-0", 0), _pod("web-1", 7, "OOMKilled")],
        replica_history=[["2026-01-01T00:00:00+00:00", 3, 2, 3]],
        observed_at=timezone.now(),
    )
    Formation.objects.create(tenant=world.acme, application=web, environment=environments[0], replicas=3)
    bare = Workload.objects.create(
        tenant=world.acme, application=make_app(world.acme, "api"), environment=environments[1]
    )
    return full, bare


def _declared(workload: Workload) -> dict:
    """The body DRF's generic walk over the declared fields gives, as JSON reads it back."""
    read = with_formation(Workload.objects.select_related("tenant", "application", "environment", "release"))
    generic = serializers.ModelSerializer.to_representation(WorkloadSerializer(), read.get(pk=workload.pk))
    return json.loads(JSONRenderer().render(generic))


def test_list_detail_and_stream_rows_are_what_the_declared_fields_give(world, api, workloads):
    api.as_user(world.user("viewer"))
    listed = {row["id"]: row for row in api.get(URL).json()["results"]}
    for workload in workloads:
        declared = _declared(workload)
        assert listed[workload.pk] == declared
        assert list(listed[workload.pk]) == list(declared), "the fields in the schema's order"
        assert api.get(f"{URL}{workload.pk}/").json() == declared
        streamed = with_formation(Workload.objects.filter(pk=workload.pk)).get()
        assert json.loads(JSONRenderer().render(WorkloadSerializer(streamed).data)) == declared
    full = listed[workloads[0].pk]
    assert (full["release"], full["formation"], full["autoscaler"]["max"]) == (1, 3, 5)
    assert [pod["last_reason"] for pod in full["pods"]] == ["", "OOMKilled"]
    assert full["observed_at"].endswith("Z")
    assert listed[workloads[1].pk]["release"] is None and listed[workloads[1].pk]["observed_at"] is None


def test_the_list_reads_no_replica_history(world, api, workloads):
    api.as_user(world.user("viewer"))
    api.get(URL)  # the first request of a session also records the session's activity
    with CaptureQueriesContext(connection) as queries:
        assert len(api.get(URL).json()["results"]) == 2
    assert not [query for query in queries if "replica_history" in query["sql"]]


def test_pages_listing_workloads_read_no_replica_history_and_the_workload_page_draws_it(world, client, workloads):
    full, _ = workloads
    Workload.objects.filter(pk=full.pk).update(
        replica_history=[["2026-01-01T00:00:00+00:00", 3, 2, 3], ["2026-01-01T00:01:00+00:00", 3, 3, 4]]
    )
    client.force_login(world.user("viewer"))
    for path in ("/t/acme/workloads/", "/t/acme/", "/t/acme/apps/", "/t/acme/apps/web/"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200, path
        assert not [query for query in queries if "replica_history" in query["sql"]], path
    for path in (f"/t/acme/workloads/{full.pk}/", f"/t/acme/workloads/{full.pk}/parts/"):
        assert 'data-decision="4"' in client.get(path).content.decode(), path


def test_the_workloads_page_shows_a_hundred_at_a_time_degraded_first(world, client, settings):
    from apps.workloads.views import WORKLOADS_PAGE

    dev = world.acme.environments.get(name="dev")
    apps = [make_app(world.acme, name=f"app{n:03}") for n in range(WORKLOADS_PAGE + 5)]
    Workload.objects.bulk_create(
        Workload(
            tenant=world.acme,
            application=app,
            environment=dev,
            health="degraded" if n == 45 else "healthy",
        )
        for n, app in enumerate(apps)
    )
    client.force_login(world.user("viewer"))
    first = client.get("/t/acme/workloads/").content.decode()
    assert first.count("data-workload-row") == WORKLOADS_PAGE
    assert first.index(">app045<") < first.index(">app000<"), "degraded first"
    assert f"Page 1 of 2 · {len(apps)} workloads" in first and 'href="?page=2" id="next-page"' in first
    second = client.get("/t/acme/workloads/?page=2").content.decode()
    assert second.count("data-workload-row") == 5 and 'id="next-page"' not in second
    assert client.get("/t/acme/workloads/?page=²").status_code == 200
