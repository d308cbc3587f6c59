"""The incidents page follows the tenant's incidents without a reload: one opening, one acknowledged
in another tab, one resolving all show where they happen (server-drawn again over the tenant's socket)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from apps.workloads.incidents import incident_acknowledge, incidents_sync
from apps.workloads.models import Cause, Incident, Workload
from tests.deployments.conftest import make_app

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_incidents_page_shows_incidents_open_acknowledged_and_resolved_without_a_reload(
    page, asgi_server, world, settings
):
    settings.INCIDENT_RESOLVE_AFTER_SECONDS = 0
    app = make_app(world.acme)
    workload = Workload.objects.create(
        tenant=world.acme, application=app, environment=world.acme.environments.get(name="dev")
    )
    sign_in(page, asgi_server, world.user("admin").email)
    page.goto(f"{asgi_server}/t/acme/workloads/incidents/")
    expect(page.locator("#incidents-card [data-live-status]")).to_have_text("· live")
    expect(page.locator("#incidents tbody")).to_contain_text("No incidents")
    workloads = page.context.new_page()  # the workloads page's count of open incidents follows too
    workloads.goto(f"{asgi_server}/t/acme/workloads/")
    expect(workloads.locator("[data-live-part='open-incidents']")).to_contain_text("none open")
    for each in (page, workloads):
        each.evaluate("window.stillTheSamePage = true")

    # In a thread of its own: broadcasting after commit cannot run beside Playwright's event loop.
    causes = {Cause.AUTOSCALER_AT_MAX: "The autoscaler runs the maximum of 4 replicas"}
    with ThreadPoolExecutor(1) as pool:
        pool.submit(incidents_sync, workload=workload, causes=causes).result()
    incident = Incident.objects.get()
    row = page.locator(f"#incidents tr[data-incident='{incident.pk}']")
    expect(row).to_contain_text("The autoscaler runs the maximum of 4 replicas", timeout=10000)
    expect(row.locator(".badge").first).to_have_text("Open")
    expect(workloads.locator("#open-incidents")).to_contain_text("1 open incident.", timeout=10000)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(incident_acknowledge, actor=world.principal("owner"), incident=incident).result()
    expect(row).to_contain_text(f"acknowledged by {world.user('owner').email}", timeout=10000)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(incidents_sync, workload=workload, causes={}).result()
    expect(row.locator(".badge").first).to_have_text("Resolved", timeout=10000)
    expect(workloads.locator("[data-live-part='open-incidents']")).to_contain_text("none open", timeout=10000)
    for each in (page, workloads):
        assert each.evaluate("window.stillTheSamePage") is True
    assert page.console_errors == []
