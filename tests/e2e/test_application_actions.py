"""The application page acts on what runs, per environment: scale, restart, roll back and promote go
through the same services as the deployment page and the API (approvals, audit), and "Running now"
follows the cluster without a reload. Real browser, real worker, real sandbox cluster, the lifecycle
watcher running."""

import threading

import pytest
from playwright.sync_api import expect

from apps.approvals.models import ChangeRequest
from apps.audit.models import AuditEvent
from apps.clusters.kube import KubeClient
from apps.deployments.models import Deployment, Formation
from apps.workloads.models import Workload
from apps.workloads.watcher import Watcher
from tests.approvals.conftest import govern
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished
from tests.workloads.test_incident_actions import start_crashing

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NS = "acme--dev"


@pytest.fixture
def sandbox_options():
    return {"ready_after": 0.3}


@pytest.fixture
def watcher(world, sandbox, celery_worker):
    registered(world, sandbox)
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    thread.start()
    yield
    stop.set()


def test_scale_restart_roll_back_and_promote_from_the_application_page(
    page, asgi_server, world, api, sandbox, celery_worker, watcher
):
    cluster = KubeClient(sandbox.api_client())
    app = make_app(world.acme)
    developer = world.user("developer")
    assert finished(deploy(api, developer, make_release(app)).json()["id"]).state == "succeeded"
    second = finished(deploy(api, developer, make_release(app, image="registry.example/web:2.0")).json()["id"])
    assert second.state == "succeeded", second.outcome
    wait_for(lambda: Workload.objects.filter(application=app, release__number=2, health="healthy").first(), timeout=20)
    prod = world.acme.environments.get(name="prod")
    govern(world, prod, ("admins", 1, ["admin"], []))

    sign_in(page, asgi_server, developer.email)
    page.goto(f"{asgi_server}/t/acme/apps/web/")
    dev = page.locator('#running-now tbody[data-environment="dev"]')
    actions = page.locator('[data-actions="dev"]')
    expect(dev.locator('[data-field="release"]')).to_have_text("#2")
    expect(dev.locator("[data-health]")).to_have_text("Healthy")
    page.evaluate("window.stillTheSamePage = true")

    # Scale: the row follows the cluster to 3 ready pods, and 3 is kept for later releases.
    actions.get_by_label("Replicas").fill("3")
    actions.locator('[data-action="scale"]').click()
    expect(page.locator(".alert-success")).to_contain_text("Scaled to 3 replicas.")
    expect(dev.locator('[data-field="replicas"]')).to_have_text("3 of 3 ready", timeout=30000)
    expect(dev.locator("[data-formation]")).to_have_text("kept at 3")
    assert cluster.get("apps/v1", "Deployment", "web", NS)["spec"]["replicas"] == 3
    page.evaluate("window.stillTheSamePage = true")
    wait_for(lambda: Workload.objects.get(application=app, environment__name="dev").ready_replicas == 3, timeout=20)
    assert page.evaluate("window.stillTheSamePage") is True, "the replicas moved without a reload"

    # Restart: a new pod template annotation, as kubectl rollout restart makes.
    page.locator('[data-actions="dev"] [data-action="restart"]').click()
    expect(page.locator(".alert-success")).to_contain_text("Restarting every pod.")
    template = cluster.get("apps/v1", "Deployment", "web", NS)["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in template

    # Roll back: the justification is the rollback's reason; the new deployment's page shows its progress.
    page.locator('[data-actions="dev"]').get_by_label("Justification").fill("2.0 answers slowly")
    page.locator('[data-actions="dev"] [data-action="rollback"]').click()
    expect(page.locator("#deployment-state")).to_contain_text("Succeeded", timeout=40000)
    rollback = Deployment.objects.get(rollback_of=second)
    assert rollback.release.number == 1 and rollback.reason.endswith(": 2.0 answers slowly")
    page.goto(f"{asgi_server}/t/acme/apps/web/")
    expect(dev.locator('[data-field="release"]')).to_have_text("#1", timeout=20000)
    assert cluster.get("apps/v1", "Deployment", "web", NS)["spec"]["replicas"] == 3, "the formation outlived #2"

    # Promote to a governed production: it waits for approval, as through the API.
    actions.get_by_label("Promote #1 to").select_option(label="prod")
    actions.get_by_label("Justification").fill("ship the known good release")
    actions.locator('[data-action="promote"]').click()
    expect(page.locator("#waiting-for-approval")).to_be_visible()
    request = ChangeRequest.objects.get(kind="deploy", environment=prod)
    assert request.justification == "ship the known good release" and request.requested_by == developer

    # A release that goes live meanwhile redraws the actions for it, without a reload.
    page.goto(f"{asgi_server}/t/acme/apps/web/")
    expect(dev.locator('[data-field="release"]')).to_have_text("#1")
    page.evaluate("window.stillTheSamePage = true")
    third = deploy(api, developer, make_release(app, image="registry.example/web:3.0")).json()["id"]
    expect(dev.locator('[data-field="release"]')).to_have_text("#3", timeout=40000)
    assert finished(third).state == "succeeded"
    expect(actions.get_by_label("Promote #3 to")).to_be_visible(timeout=20000)
    expect(actions.locator('[data-action="rollback"]')).to_have_text("Roll back to #1")
    expect(actions.locator('[data-action="restart"]')).to_be_enabled()
    assert page.evaluate("window.stillTheSamePage") is True

    done = set(AuditEvent.objects.filter(actor=developer).values_list("action", flat=True))
    assert {"deployment.scale", "deployment.restart", "deployment.rollback", "deployment.create"} <= done
    assert Formation.objects.get(application=app, environment__name="dev").replicas == 3
    assert page.console_errors == []


def test_a_viewer_sees_what_runs_but_no_actions(page, asgi_server, world, api, sandbox, celery_worker, watcher):
    app = make_app(world.acme)
    assert finished(deploy(api, world.user("developer"), make_release(app)).json()["id"]).state == "succeeded"
    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/apps/web/")
    expect(page.locator('#running-now tbody[data-environment="dev"] [data-field="release"]')).to_have_text("#1")
    assert page.locator("[data-actions]").count() == 0
    assert page.locator('[data-action="deploy"]').count() == 0


def test_the_overview_lists_workloads_degraded_first_and_follows_them_live(
    page, asgi_server, world, api, sandbox, celery_worker, watcher
):
    cluster = KubeClient(sandbox.api_client())
    developer = world.user("developer")
    for name in ("api", "web"):
        app = make_app(world.acme, name)
        assert finished(deploy(api, developer, make_release(app)).json()["id"]).state == "succeeded"
    wait_for(lambda: Workload.objects.filter(health="healthy").count() == 2, timeout=30)

    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/")
    rows = page.locator("#tenant-workloads [data-workload-row]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("api")
    expect(page.locator("#tenant-workloads [data-live-status]")).to_have_text("· live")
    page.evaluate("window.stillTheSamePage = true")

    start_crashing(cluster)  # web's pods begin to crash-loop
    web = page.locator("#tenant-workloads [data-workload-row]", has_text="web")
    expect(web.locator("[data-health]")).to_have_text("Degraded", timeout=40000)
    assert page.evaluate("window.stillTheSamePage") is True

    page.reload()
    expect(rows.first).to_contain_text("web")  # degraded first
    page.locator("#overview-workload-filter").get_by_label("Health").select_option("degraded")
    page.locator("#overview-workload-filter").get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("web")
    assert "health=degraded" in page.url
    assert page.console_errors == []
