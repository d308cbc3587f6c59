"""A newcomer's journey, counting the steps: sign up, verify, find the invitation on the home page and
join; deploy from the application page in a few clicks; then, as an approver, approve a production
deploy that a colleague's script asked for over the API by names, from the deployment page itself, typing the
password once (real ASGI server, worker and sandbox cluster). On the way, a release with mistakes of two
kinds has them all marked at once, and the script finds its deployment again by names."""

import re

import pytest
import requests
from django.core import mail
from playwright.sync_api import expect

from apps.approvals.services.configuration import approval_policy_save
from apps.deployments.models import Deployment
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role
from apps.tenants.services import invitation_create
from tests.deployments.conftest import make_app, make_release, registered

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "newbie@example.com"
PASSWORD = "a-long-and-lovely-passphrase"
MOST_CLICKS_TO_DEPLOY = 4


@pytest.fixture
def sandbox_options():
    return {"ready_after": 0.5}


class Steps:
    """Counts what the newcomer does on the pages: each click, choice or typed field is one step."""

    def __init__(self):
        self.count = 0

    def __call__(self, action, *args, **kwargs):
        self.count += 1
        return action(*args, **kwargs)


def test_sign_up_join_deploy_and_approve_in_few_steps(page, asgi_server, world, sandbox, celery_worker):
    registered(world, sandbox)
    owner = world.user(Role.OWNER)
    prod = world.acme.environments.get(name="prod")
    approval_policy_save(
        actor=as_principal(owner),
        tenant=world.acme,
        environment=prod,
        stages=[{"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}],
    )
    release = make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    invitation_create(actor=as_principal(owner), tenant=world.acme, email=EMAIL, role=Role.ADMIN)
    mail.outbox.clear()

    # Sign up and verify the address.
    page.goto(f"{asgi_server}/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator("#resend-verification input[name=email]")).to_have_value(EMAIL)
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body).group(1)
    page.goto(f"{asgi_server}{link}")
    page.get_by_role("button", name="Confirm").click()
    page.goto(f"{asgi_server}/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    # The invitation waits on the home page (and in the header); one click joins.
    expect(page.locator("#invitations-badge")).to_contain_text("1")
    page.locator("#pending-invitations").get_by_role("button", name=f"Join {world.acme.name}").click()
    expect(page).to_have_url(re.compile(r"/t/acme/$"))
    expect(page.locator("#invitations-badge")).to_have_count(0)

    # A first try at the next release with three mistakes of two kinds (a probe that is not JSON, a
    # CPU and a memory quantity the release rules refuse): one submit marks all three, nothing is cut.
    page.goto(f"{asgi_server}/t/acme/apps/shop/")
    form = page.locator("#new-release form")
    form.locator("[name=readiness_probe]").fill('{"httpGet": ')
    form.locator("[name=cpu_request]").fill("abc")
    form.locator("[name=memory_request]").fill("lots")
    form.get_by_role("button", name="Create release #2").click()
    expect(page.locator("#release-refused")).to_be_visible()
    for name in ("readiness_probe", "cpu_request", "memory_request"):
        expect(page.locator(f"#new-release [name={name}]")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#new-release .invalid-feedback")).to_have_count(3)
    assert release.application.releases.count() == 1
    # The refusal is a 400 page, which the browser's console reports; it is the one expected.
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    page.console_errors.clear()

    # Deploy from the application page: the application is fixed and its latest release chosen.
    page.goto(f"{asgi_server}/t/acme/apps/shop/")
    step = Steps()
    step(page.locator("#deploy-application").click)
    expect(page.get_by_label("Release")).to_have_value(str(release.pk))
    step(page.get_by_label("Environment").select_option, label="dev (non-production)")
    step(page.get_by_role("button", name="Preview manifests").click)
    expect(page.locator("#manifests")).to_contain_text("kind: Deployment")
    step(page.get_by_role("button", name="Confirm and deploy").click)
    expect(page).to_have_url(re.compile(r"/t/acme/deployments/\d+/$"))
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)
    assert step.count <= MOST_CLICKS_TO_DEPLOY, f"deploying took {step.count} steps"

    # A colleague's script asks for production over the API, by names: no ids to look up.
    body = {
        "tenant": "acme",
        "application": "shop",
        "release": 1,
        "environment": "prod",
        "justification": "Ship the fix",
    }
    response = requests.post(
        f"{asgi_server}/api/v1/deployments/",
        json=body,
        headers={"Authorization": f"Bearer {world.key(Role.DEVELOPER)}"},
        timeout=10,
    )
    assert response.status_code in (201, 202), response.text
    waiting = Deployment.objects.get(pk=response.json()["id"])
    assert waiting.state == "pending_approval" and waiting.release == release and waiting.environment == prod
    # ...and finds it again by names too, as the list filters take them.
    listed = requests.get(
        f"{asgi_server}/api/v1/deployments/",
        params={"application": "shop", "environment": "prod"},
        headers={"Authorization": f"Bearer {world.key(Role.DEVELOPER)}"},
        timeout=10,
    )
    assert [row["id"] for row in listed.json()["results"]] == [waiting.pk], listed.text

    # The newcomer approves from the deployment page: one click, the password once.
    page.goto(f"{asgi_server}/t/acme/deployments/{waiting.pk}/")
    step = Steps()
    step(page.locator("#waiting-for-approval").get_by_role("button", name="Approve").click)
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    step(page.locator("input[name=password]").fill, PASSWORD)
    step(page.get_by_role("button", name="Confirm").click)
    expect(page).to_have_url(re.compile(rf"/t/acme/deployments/{waiting.pk}/$"))
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)
    assert step.count <= 3
    waiting.refresh_from_db()
    decision = waiting.change_requests.get().decisions.get()
    assert decision.approver.email == EMAIL and decision.verdict == "approve"
    assert page.console_errors == []
