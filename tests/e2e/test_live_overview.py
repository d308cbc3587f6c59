"""The tenant overview, an application's page and the deployment's pods follow a rollout live, over
the tenant's WebSocket, without reloading (real worker, real sandbox cluster)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from tests.deployments.conftest import make_app, make_release, registered

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_options():
    return {"ready_after": 1.0}


def test_overview_and_application_page_follow_a_deployment_live(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    sign_in(page, asgi_server, world.user("viewer").email)
    app_page = page.context.new_page()
    app_page.goto(f"{asgi_server}/t/acme/apps/shop/")
    page.goto(f"{asgi_server}/t/acme/")
    for each in (page, app_page):
        expect(each.locator("#latest-deployments-status")).to_have_text("· live")
        each.evaluate("window.stillTheSamePage = true")

    # In a thread of its own: broadcasting after commit cannot run beside Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            deployment_create,
            actor=world.principal("developer"),
            release=release,
            environment=world.acme.environments.get(name="staging"),
        ).result()
    deployment = Deployment.objects.get()
    slot = f"tr[data-slot='{deployment.application_id}:{deployment.environment_id}']"
    for each in (page, app_page):
        expect(each.locator(f"{slot} [data-field='state'] .badge")).to_have_text("Succeeded", timeout=30000)
        expect(each.locator(f"{slot} [data-field='release'] a")).to_have_text("#1")
        assert each.evaluate("window.stillTheSamePage") is True

    page.goto(f"{asgi_server}/t/acme/deployments/{deployment.pk}/")
    expect(page.locator("#pods tbody tr[data-pod]")).to_have_count(release.replicas)
    expect(page.locator("#pods tbody .badge").first).to_have_text("ready")
    assert page.console_errors == []


def test_the_pods_table_follows_a_scale_after_the_rollout_ended(page, asgi_server, world, sandbox, celery_worker):
    """A scale's new pod appears seconds after the last event; the table reads the cluster again until
    it does, and the replaced pods never linger (issue 14: pods from the cluster, not from events)."""
    from apps.deployments.services import deployment_scale

    registered(world, sandbox)
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            deployment_create,
            actor=world.principal("developer"),
            release=release,
            environment=world.acme.environments.get(name="staging"),
        ).result()
    deployment = Deployment.objects.get()
    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/deployments/{deployment.pk}/")
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)
    expect(page.locator("#pods tbody tr[data-pod] .badge:text-is('ready')")).to_have_count(2, timeout=15000)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(deployment_scale, actor=world.principal("developer"), deployment=deployment, replicas=3).result()
    expect(page.locator("#pods tbody tr[data-pod] .badge:text-is('ready')")).to_have_count(3, timeout=20000)
    assert page.console_errors == []


def test_a_removal_shows_removed_live_on_the_overview_the_application_and_the_deployment(
    page, asgi_server, world, sandbox, celery_worker
):
    from apps.deployments.services import application_remove

    registered(world, sandbox)
    shop = make_app(world.acme, "shop")
    release = make_release(shop, image="registry.example/shop:1.0")
    dev = world.acme.environments.get(name="dev")
    with ThreadPoolExecutor(1) as pool:
        deployment, _ = pool.submit(
            deployment_create, actor=world.principal("developer"), release=release, environment=dev
        ).result()
    sign_in(page, asgi_server, world.user("viewer").email)
    app_page, detail_page = page.context.new_page(), page.context.new_page()
    detail_page.goto(f"{asgi_server}/t/acme/deployments/{deployment.pk}/")
    app_page.goto(f"{asgi_server}/t/acme/apps/shop/")
    page.goto(f"{asgi_server}/t/acme/")
    slot = f"tr[data-slot='{shop.pk}:{dev.pk}'] [data-field='state']"
    for each in (page, app_page):
        expect(each.locator(f"{slot} .badge").first).to_have_text("Succeeded", timeout=30000)
        expect(each.locator(f"{slot} [data-removed]")).to_have_count(0)
        expect(each.locator("#latest-deployments-status")).to_have_text("· live")
    expect(detail_page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)
    expect(detail_page.locator("#events-status")).to_have_text("· live")
    for each in (page, app_page, detail_page):
        each.evaluate("window.stillTheSamePage = true")

    with ThreadPoolExecutor(1) as pool:
        pool.submit(application_remove, actor=world.principal("owner"), application=shop, environment=dev).result()

    for each in (page, app_page):
        expect(each.locator(f"{slot} [data-removed]")).to_have_text("Removed", timeout=30000)
        expect(each.locator(f"{slot} .badge").first).to_have_text("Succeeded")
    expect(detail_page.locator("#removed-badge")).to_have_text("Removed", timeout=30000)
    for each in (page, app_page, detail_page):
        assert each.evaluate("window.stillTheSamePage") is True

    # And after a reload, drawn by the server the same way.
    page.reload()
    expect(page.locator(f"{slot} [data-removed]")).to_have_text("Removed")
    assert page.console_errors == []


def test_a_new_place_deployed_to_goes_on_top_of_the_overview_live_and_the_oldest_leaves(
    page, asgi_server, world, sandbox, celery_worker
):
    from apps.deployments.templatetags.deployment_live import OVERVIEW_SLOTS

    registered(world, sandbox)
    dev = world.acme.environments.get(name="dev")
    earlier = []
    for n in range(OVERVIEW_SLOTS):
        app = make_app(world.acme, f"app{n}")
        earlier.append(
            Deployment.objects.create(
                tenant=world.acme, application=app, release=make_release(app), environment=dev, state="succeeded"
            )
        )
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    sign_in(page, asgi_server, world.user("viewer").email)
    page.goto(f"{asgi_server}/t/acme/")
    rows = page.locator("#latest-deployments tbody tr[data-slot]")
    expect(rows).to_have_count(OVERVIEW_SLOTS)
    expect(page.locator("#latest-deployments-status")).to_have_text("· live")
    page.evaluate("window.stillTheSamePage = true")

    with ThreadPoolExecutor(1) as pool:
        deployment, _ = pool.submit(
            deployment_create,
            actor=world.principal("developer"),
            release=release,
            environment=world.acme.environments.get(name="staging"),
        ).result()
    expect(rows.first).to_have_attribute("data-slot", f"{deployment.application_id}:{deployment.environment_id}")
    expect(rows.first.locator("[data-field='state'] .badge")).to_have_text("Succeeded", timeout=30000)
    expect(rows).to_have_count(OVERVIEW_SLOTS)
    oldest = earlier[0]
    expect(page.locator(f"tr[data-slot='{oldest.application_id}:{oldest.environment_id}']")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.console_errors == []
