"""A rollout moves on its page as the cluster moves, from the lifecycle watcher's watch events: the
worker's scheduled looks come only every ten minutes here, so a deployment that succeeds within
seconds was looked at because its pods changed. The action buttons of the workload's and the
application's pages follow without a reload (real worker, real sandbox cluster, the watcher)."""

import threading

import pytest
from playwright.sync_api import expect

from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.workloads.models import Workload
from apps.workloads.watcher import Watcher
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

SCHEDULED_LOOKS_EVERY = "600"


@pytest.fixture
def sandbox_options():
    return {"ready_after": 2.0}


@pytest.fixture
def worker_settings():
    """The worker's scheduled looks at a rollout come every ten minutes: only the watcher moves it on."""
    return {"DEPLOYMENT_OBSERVE_SECONDS": SCHEDULED_LOOKS_EVERY}


@pytest.fixture
def watcher(world, sandbox, celery_worker):
    registered(world, sandbox)  # before the watcher starts, so it watches this cluster from the start
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(stop=stop).run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=15)


def test_a_rollout_reaches_its_page_from_watch_events_before_any_scheduled_look(
    page, asgi_server, world, api, sandbox, watcher
):
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0", replicas=2)
    sign_in(page, asgi_server, world.user("viewer").email)
    pk = deploy(api, world.user("developer"), release).json()["id"]
    page.goto(f"{asgi_server}/t/acme/deployments/{pk}/")
    page.evaluate("window.stillTheSamePage = true")

    # The pods become ready two seconds after they are created; the next scheduled look is ten minutes away.
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=45000)
    expect(page.locator("#events")).to_contain_text("is ready")
    expect(page.locator("#events")).to_contain_text("Rollout complete: 2 of 2 replicas ready")
    assert page.evaluate("window.stillTheSamePage") is True
    assert Deployment.objects.get(pk=pk).state == State.SUCCEEDED
    assert page.console_errors == []


def test_roll_back_appears_on_the_workload_and_application_pages_once_a_deploy_finishes(
    page, asgi_server, world, api, sandbox, watcher
):
    app = make_app(world.acme)
    developer = world.user("developer")
    assert finished(deploy(api, developer, make_release(app)).json()["id"], timeout=60).state == State.SUCCEEDED
    workload = wait_for(lambda: Workload.objects.filter(application=app, release__number=1).first(), timeout=30)
    sign_in(page, asgi_server, developer.email)
    page.goto(f"{asgi_server}/t/acme/workloads/{workload.pk}/")
    application_page = page.context.new_page()
    application_page.goto(f"{asgi_server}/t/acme/apps/web/")
    on_workload = page.locator("#workload-actions")
    on_application = application_page.locator('[data-actions="dev"]')
    for actions in (on_workload, on_application):
        expect(actions.locator('[data-action="restart"]')).to_be_visible()
        expect(actions.locator('[data-action="rollback"]')).to_have_count(0)  # nothing to go back to yet
    on_workload.get_by_label("Justification").fill("typed before the redraw")
    on_workload.get_by_label("Justification").blur()  # a part being typed in is redrawn once left
    for shown in (page, application_page):
        shown.evaluate("window.stillTheSamePage = true")

    second = deploy(api, developer, make_release(app, image="registry.example/web:2.0")).json()["id"]
    for actions in (on_workload, on_application):
        expect(actions.locator('[data-action="rollback"]')).to_have_text("Roll back to #1", timeout=45000)
        expect(actions.get_by_label("Promote #2 to")).to_be_visible()
    assert finished(second).state == State.SUCCEEDED
    expect(page.locator("#live-release")).to_have_text("#2")
    expect(on_workload.get_by_label("Justification")).to_have_value("typed before the redraw")
    for shown in (page, application_page):
        assert shown.evaluate("window.stillTheSamePage") is True
    assert page.console_errors == []
