"""The incidents as pages show them: an action from the list comes back to the list; an incident whose
cause went away says it is clearing and when it resolves; a drift incident offers deploying the live
release again, not a restart or a scale, which would not put the cluster back."""

import pytest
from django.utils import timezone

from apps.workloads.models import Cause, Incident, Workload
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def workload(world):
    app = make_app(world.acme)
    return Workload.objects.create(
        tenant=world.acme,
        application=app,
        environment=world.acme.environments.get(name="dev"),
        release=make_release(app),
    )


def incident(workload, cause, **fields):
    now = timezone.now()
    return Incident.objects.create(
        tenant=workload.tenant,
        workload=workload,
        cause=cause,
        message=f"{cause} seen",
        first_seen=now,
        last_seen=now,
        **fields,
    )


def test_acknowledging_from_the_list_comes_back_to_the_list(client, world, workload):
    unready = incident(workload, Cause.UNREADY)
    client.force_login(world.user("admin"))
    page = client.get("/t/acme/workloads/incidents/?state=open").content.decode()
    assert 'name="next" value="/t/acme/workloads/incidents/?state=open"' in page
    answer = client.post(
        f"/t/acme/workloads/incidents/{unready.pk}/acknowledge/", {"next": "/t/acme/workloads/incidents/?state=open"}
    )
    assert answer["Location"] == "/t/acme/workloads/incidents/?state=open"
    elsewhere = client.post(f"/t/acme/workloads/incidents/{unready.pk}/resolve/", {"next": "https://evil.example/"})
    assert elsewhere["Location"] == f"/t/acme/workloads/{workload.pk}/", "only a page of this tenant"


def test_an_incident_whose_cause_went_says_it_is_clearing(client, world, workload, settings):
    settings.INCIDENT_RESOLVE_AFTER_SECONDS = 300
    incident(workload, Cause.CRASH_LOOP, clear_since=timezone.now())
    client.force_login(world.user("viewer"))
    page = client.get(f"/t/acme/workloads/{workload.pk}/parts/").content.decode()
    assert "data-clearing" in page and "resolves by itself once gone 5 minutes" in page


def test_a_drift_incident_offers_deploying_the_release_again_not_a_restart(client, world, workload):
    incident(workload, Cause.DRIFT)
    client.force_login(world.user("admin"))
    page = client.get(f"/t/acme/workloads/{workload.pk}/parts/").content.decode()
    assert 'data-action="redeploy"' in page and "Deploy #1 again" in page
    assert 'data-action="restart"' not in page
    listing = client.get("/t/acme/workloads/incidents/").content.decode()
    assert "/t/acme/deployments/new/?application=web&amp;release=1&amp;environment=dev" in listing
