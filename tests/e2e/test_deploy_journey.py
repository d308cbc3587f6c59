"""Deploying from the browser: choose a release, read the manifests, confirm, and watch the page
reach "succeeded" over the WebSocket without reloading (real worker, real sandbox cluster)."""

import re

import pytest
from kubernetes import client as k8s
from playwright.sync_api import expect

from apps.deployments.choices import State
from apps.deployments.models import Deployment
from tests.conftest import wait_for
from tests.deployments.conftest import make_app, make_release, registered
from tests.deployments.test_pipeline import deploy, finished
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_options():
    return {"ready_after": 1.0}


def sign_in(page, server, email):
    page.goto(f"{server}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_deploy_from_the_ui_and_watch_it_succeed_live(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    sign_in(page, asgi_server, world.user("developer").email)

    page.goto(f"{asgi_server}/t/acme/deployments/")
    page.get_by_role("link", name="Deploy a release").click()
    page.wait_for_url("**/deployments/new/")  # and its load: the chooser submits on change once its script runs
    page.get_by_label("Application").select_option(label="shop")
    page.get_by_label("Release").select_option(value=str(release.pk))
    page.get_by_label("Environment").select_option(label="dev (non-production)")
    page.get_by_role("button", name="Preview manifests").click()
    expect(page.locator("#manifests")).to_contain_text("kind: Deployment")
    expect(page.locator("#manifests")).to_contain_text("paas.dev/release: '1'")

    page.get_by_role("button", name="Confirm and deploy").click()
    expect(page).to_have_url(re.compile(r"/t/acme/deployments/\d+/$"))
    page.evaluate("window.stillTheSamePage = true")
    badge = page.locator("#deployment-state .badge")
    expect(badge).to_have_text("Succeeded", timeout=30000)
    expect(page.locator("[data-step='succeeded']")).to_have_attribute("data-status", "done")

    assert page.evaluate("window.stillTheSamePage") is True  # it moved without a reload
    deployment = Deployment.objects.get()
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(deployment.last_seq)
    seqs = [int(s) for s in rows.evaluate_all("rows => rows.map(r => r.dataset.seq)")]
    assert seqs == list(range(1, deployment.last_seq + 1))
    expect(page.locator("#cancel-form")).to_be_hidden()
    assert page.console_errors == []


def test_cancel_from_the_page_says_cancelling_until_the_old_release_runs_again(
    page, asgi_server, world, sandbox, celery_worker, api
):
    registered(world, sandbox)
    app = make_app(world.acme, "shop")
    first = make_release(app, image="registry.example/shop:1.0")
    slow = make_release(app, image="registry.example/shop:v2-slow", replicas=4)
    assert finished(deploy(api, world.user("developer"), first).json()["id"]).state == State.SUCCEEDED
    pk = deploy(api, world.user("developer"), slow).json()["id"]
    wait_for(lambda: Deployment.objects.filter(pk=pk, state=State.PROGRESSING).exists(), timeout=30)

    sign_in(page, asgi_server, world.user("developer").email)
    page.goto(f"{asgi_server}/t/acme/deployments/{pk}/")
    sandbox.inject_faults(error_rate=1.0)  # the cluster stops answering: cancelling cannot finish yet
    page.locator("#cancel-form").get_by_role("button", name="Cancel").click()
    badge = page.locator("#deployment-state .badge")
    expect(badge).to_have_text("Cancelling")
    expect(page.locator(".alert-info").first).to_contain_text("Cancelling: the cluster is being put back")
    expect(page.locator("#cancel-form")).to_be_hidden()
    page.evaluate("window.stillTheSamePage = true")

    sandbox.clear_faults()
    expect(badge).to_have_text("Cancelled", timeout=60000)
    expect(page.locator("#deployment-outcome")).to_have_text("Release #1 is live again; cancelled")
    assert page.evaluate("window.stillTheSamePage") is True  # it moved without a reload
    web = k8s.AppsV1Api(sandbox.api_client()).read_namespaced_deployment("shop", "acme--dev")
    assert web.spec.template.spec.containers[0].image == first.image
    # While the cluster did not answer, the pods card's read got a 503, which the browser logs.
    assert [error for error in page.console_errors if "Failed to load resource" not in error] == []
