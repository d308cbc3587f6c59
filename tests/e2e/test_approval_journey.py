"""A production deploy that waits for approval: a developer asks for it with a justification, an admin
of the same tenant approves it in another browser after re-authenticating, and the developer's pages
move from pending approval to succeeded without a reload (real worker, ASGI server and sandbox cluster)."""

import re

import pytest
from playwright.sync_api import expect

from apps.approvals.models import ChangeRequest
from apps.approvals.services.configuration import approval_policy_save
from apps.deployments.models import Deployment
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release, registered
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


def test_a_production_deploy_waits_for_approval_then_succeeds_live(
    page, browser, asgi_server, world, sandbox, celery_worker
):
    registered(world, sandbox)
    prod = world.acme.environments.get(name="prod")
    approval_policy_save(
        actor=world.principal(Role.OWNER),
        tenant=world.acme,
        environment=prod,
        stages=[{"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}],
    )
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")

    # The developer asks for the deploy.
    sign_in(page, asgi_server, world.user(Role.DEVELOPER).email)
    page.goto(f"{asgi_server}/t/acme/deployments/new/")
    page.get_by_label("Application").select_option(label="shop")
    page.get_by_label("Release").select_option(value=str(release.pk))
    page.get_by_label("Environment").select_option(label="prod (production)")
    page.get_by_label("Justification").fill("Ship the checkout fix before the sale")
    page.get_by_role("button", name="Preview manifests").click()
    page.get_by_role("button", name="Confirm and deploy").click()
    expect(page).to_have_url(re.compile(r"/t/acme/deployments/\d+/$"))
    expect(page.locator("#deployment-state .badge")).to_have_text("Pending approval")
    expect(page.locator("#waiting-for-approval")).to_be_visible()
    # Waiting is a step of its own, not a failure of the last one.
    expect(page.locator('.deployment-step[data-step="pending_approval"]')).to_have_attribute("data-status", "waiting")
    expect(page.locator('.deployment-step[data-status="failed"]')).to_have_count(0)
    change_request = ChangeRequest.objects.get()
    assert change_request.justification == "Ship the checkout fix before the sale"
    page.evaluate("window.stillTheSamePage = true")

    # The developer also watches the change request itself.
    request_page = page.context.new_page()
    request_page.goto(f"{asgi_server}/t/acme/approvals/{change_request.pk}/")
    expect(request_page.locator("#request-state .badge")).to_have_text("Pending")
    expect(request_page.locator("#approve-now")).to_have_count(0)
    request_page.evaluate("window.stillTheSamePage = true")

    # An admin of the same tenant approves it in another browser, re-authenticating first.
    approver_context = browser.new_context(viewport={"width": 1280, "height": 900})
    approver = approver_context.new_page()
    try:
        sign_in(approver, asgi_server, world.user(Role.ADMIN).email)
        approver.goto(f"{asgi_server}/t/acme/approvals/")
        approver.locator("#waiting-for-you").get_by_role("link", name=change_request.title).click()
        expect(approver.locator("#justification")).to_have_text("Ship the checkout fix before the sale")
        expect(approver.locator("#manifest-diff")).to_contain_text("kind: Deployment")
        approver.locator("#decide").get_by_label("Comment").fill("Looks right")
        approver.locator("#approve-now").click()
        expect(approver).to_have_url(re.compile(r"/accounts/reauthenticate/"))
        approver.locator("input[name=password]").fill(PASSWORD)
        approver.get_by_role("button", name="Confirm").click()  # the approval, held meanwhile, goes through
        expect(approver).to_have_url(re.compile(rf"/t/acme/approvals/{change_request.pk}/$"))
        expect(approver.locator("#request-state .badge")).to_have_text("Approved")
    finally:
        approver_context.close()

    # The developer's pages move on by themselves.
    expect(request_page.locator("#request-state .badge")).to_have_text("Approved", timeout=15000)
    expect(request_page.locator("#decisions")).to_contain_text("Looks right")
    assert request_page.evaluate("window.stillTheSamePage") is True
    badge = page.locator("#deployment-state .badge")
    expect(badge).to_have_text(re.compile("Queued|Applying|Progressing|Succeeded"), timeout=15000)
    expect(badge).to_have_text("Succeeded", timeout=30000)
    expect(page.locator("#waiting-for-approval")).to_be_hidden()
    statuses = page.locator(".deployment-step").evaluate_all("items => items.map(i => i.dataset.status)")
    assert statuses == ["done"] * 5
    assert page.evaluate("window.stillTheSamePage") is True
    deployment = Deployment.objects.get()
    assert deployment.state == "succeeded"
    states = [row.state for row in deployment.events.order_by("seq") if row.state]
    assert states[0] == "pending_approval" and "queued" in states and states[-1] == "succeeded"
    assert page.console_errors == []
