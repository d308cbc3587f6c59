"""A workload page follows the cluster without a reload: someone sets a crashing image behind the
portal's back, the page turns Degraded and Out of sync; they set it back, and it is Healthy again.
The logs follow, and the application page says where the application runs (real worker, real
sandbox cluster, the lifecycle watcher running)."""

import threading

import pytest
from playwright.sync_api import expect

from apps.clusters.kube import KubeClient
from apps.workloads.models import Workload
from apps.workloads.watcher import Watcher
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NS = "acme--dev"


@pytest.fixture
def sandbox_options():
    return {"ready_after": 0.3}


@pytest.fixture
def watcher(world, sandbox, celery_worker):
    registered(world, sandbox)  # before the watcher starts, so it watches this cluster from the start
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    thread.start()
    yield
    stop.set()


def set_image(cluster: KubeClient, image: str) -> None:
    deployment = cluster.get("apps/v1", "Deployment", "web", NS)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = image
    cluster.patch("apps/v1", "Deployment", "web", NS, {"spec": {"template": {"spec": {"containers": containers}}}})


def deployed(api, world):
    """web release #1 live in acme's dev, its workload read healthy: the deployment and the workload."""
    app = make_app(world.acme)
    deployment = finished(deploy(api, world.user("developer"), make_release(app)).json()["id"])
    assert deployment.state == "succeeded", deployment.outcome
    return deployment, wait_for(lambda: Workload.objects.filter(application=app, health="healthy").first(), timeout=20)


def test_a_workload_goes_degraded_and_back_without_a_reload(
    page, asgi_server, world, api, sandbox, celery_worker, watcher
):
    cluster = KubeClient(sandbox.api_client())
    deployment, workload = deployed(api, world)

    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/apps/web/")
    expect(page.locator("#running-now")).to_contain_text("#1")
    expect(page.locator("#running-now [data-health]")).to_have_text("Healthy")
    page.locator("#running-now").get_by_role("link", name="dev").click()
    expect(page.locator("#workload [data-health]")).to_have_text("Healthy")
    expect(page.locator("#workload [data-sync]")).to_have_text("Synced")
    expect(page.locator("#logs")).to_contain_text("started from registry.example/web:1.0", timeout=10000)
    page.evaluate("window.stillTheSamePage = true")
    read_at = page.locator("#workload time").get_attribute("datetime")
    expect(page.locator("#formation")).to_have_count(0)

    set_image(cluster, "registry.example/web:crash")
    expect(page.locator("#workload [data-health]")).to_have_text("Degraded", timeout=30000)
    expect(page.locator("#workload [data-sync]")).to_have_text("Out of sync")
    expect(page.locator("#live-image")).to_have_text("registry.example/web:crash")
    # The drift reads as the one field and its two values.
    image = page.locator("#drift tr", has_text="spec.template.spec.containers[web].image")
    expect(image.locator("td").nth(2)).to_have_text("registry.example/web:1.0")
    expect(image.locator("td").nth(3)).to_have_text("registry.example/web:crash")
    remedy = page.locator("#drift-remedy").get_by_role("link", name="deploy it again")
    assert remedy.get_attribute("href") == "/t/acme/deployments/new/?application=web&release=1&environment=dev"
    expect(page.locator("#workload time")).not_to_have_attribute("datetime", read_at)  # when it was read, too

    set_image(cluster, "registry.example/web:1.0")
    expect(page.locator("#workload [data-health]")).to_have_text("Healthy", timeout=40000)
    expect(page.locator("#workload [data-sync]")).to_have_text("Synced")
    # A scale through the portal is kept for every release: the page says so as soon as it is read back.
    api.as_user(world.user("developer"))
    scaled = api.post(f"/api/v1/deployments/{deployment.pk}/scale/", {"replicas": 3}, format="json")
    assert scaled.status_code == 200, scaled.content
    expect(page.locator("#formation")).to_have_text("kept at 3", timeout=30000)
    expect(page.locator("#replicas")).to_contain_text("3 of 3 ready")
    assert page.evaluate("window.stillTheSamePage") is True

    page.reload()
    expect(page.locator("#no-drift")).to_contain_text("exactly what release #1 says")
    assert Workload.objects.get(pk=workload.pk).drift == []
    assert page.console_errors == []


def test_the_log_stream_shows_a_new_line_as_the_container_writes_it(
    page, asgi_server, world, api, sandbox, celery_worker, watcher
):
    _, workload = deployed(api, world)
    pod = workload.pods[0]["name"]

    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/workloads/{workload.pk}/")
    logs = page.locator("#logs")
    expect(logs).to_contain_text(f"[{pod}] sandbox: container web started from registry.example/web:1.0")
    sandbox.write_log(NS, pod, "GET /cart 200 in 8 ms")
    expect(logs).to_contain_text(f"[{pod}] GET /cart 200 in 8 ms", timeout=5000)

    page.locator("#logs-pause").click()
    sandbox.write_log(NS, pod, "POST /checkout 201")
    page.wait_for_timeout(1000)
    expect(logs).not_to_contain_text("POST /checkout")  # paused: the view holds still
    page.locator("#logs-pause").click()
    expect(logs).to_contain_text("POST /checkout 201")
    page.locator("#logs-search").fill("checkout")
    expect(logs).to_have_text(f"[{pod}] POST /checkout 201")
    assert page.console_errors == []


def test_the_workloads_page_follows_a_workload_without_a_reload(
    page, asgi_server, world, api, sandbox, celery_worker, watcher
):
    cluster = KubeClient(sandbox.api_client())
    _, workload = deployed(api, world)
    # A healthy row named before web: degraded first puts web above it once web degrades.
    other = Workload.objects.create(
        tenant=world.acme, application=make_app(world.acme, "api"), environment=workload.environment, health="healthy"
    )

    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/workloads/")
    rows = page.locator("#workloads tr[data-workload-row]")
    expect(rows.first).to_have_attribute("data-workload", str(other.pk))
    row = page.locator(f"#workloads tr[data-workload='{workload.pk}']")
    expect(row.locator("[data-health]")).to_have_text("Healthy")
    expect(page.locator("#workloads-card [data-live-status]")).to_have_text("· live")
    read_at = row.locator("[data-field='observed_at'] time").get_attribute("datetime")
    page.evaluate("window.stillTheSamePage = true")

    set_image(cluster, "registry.example/web:crash")
    expect(row.locator("[data-sync]")).to_have_text("Out of sync", timeout=30000)
    expect(row.locator("[data-health]")).to_have_text("Degraded", timeout=30000)
    expect(rows.first).to_have_attribute("data-workload", str(workload.pk))
    expect(row.locator("[data-field='observed_at'] time")).not_to_have_attribute("datetime", read_at)
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.console_errors == []
