"""The approval pages: queue, request, the decision pages behind re-authentication, the deploy form's
justification, and the policy and freeze forms with their refusals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.approvals.models import ApprovalPolicy, ChangeRequest, Decision, FreezeWindow
from apps.approvals.services.configuration import approval_policy_save
from apps.clusters.services import cluster_register
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ADMINS = {"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}


@pytest.fixture
def governed(world, sandbox):
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    environment = world.acme.environments.get(name="prod")
    approval_policy_save(actor=world.principal(Role.OWNER), tenant=world.acme, environment=environment, stages=[ADMINS])
    return environment


def deploy_form(client, release, environment, **extra):
    return client.post(
        "/t/acme/deployments/new/",
        {
            "application": release.application_id,
            "release": release.pk,
            "environment": environment.pk,
            "strategy": "rolling",
            "confirm": "1",
            **extra,
        },
    )


@pytest.fixture
def requested(world, client, governed):
    """A developer asked for a production deploy through the deploy form."""
    release = make_release(make_app(world.acme, "shop"))
    client.force_login(world.user(Role.DEVELOPER))
    response = deploy_form(client, release, governed, justification="Ship the checkout fix")
    deployment = Deployment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/t/acme/deployments/{deployment.pk}/"
    client.logout()
    return deployment.change_requests.get()


def test_the_deploy_form_needs_a_justification_for_governed_production(world, client, governed):
    release = make_release(make_app(world.acme, "shop"))
    client.force_login(world.user(Role.DEVELOPER))
    response = deploy_form(client, release, governed)
    assert response.status_code == 400
    assert "need approval" in str(response.context["form"].errors["justification"])
    assert not Deployment.objects.exists()
    assert "break_glass_reason" not in response.context["form"].fields  # owners only


def test_the_deployment_page_links_its_change_request(world, client, requested):
    client.force_login(world.user(Role.DEVELOPER))
    page = client.get(f"/t/acme/deployments/{requested.deployment_id}/").content.decode()
    assert (
        f'Waiting for approval — <a href="/t/acme/approvals/{requested.pk}/">change request {requested.pk}</a>' in page
    )


def test_queue_and_request_pages(world, client, requested):
    client.force_login(world.user(Role.ADMIN))
    queue = client.get("/t/acme/approvals/")
    assert [cr.pk for cr in queue.context["waiting"]] == [requested.pk]
    page = client.get(f"/t/acme/approvals/{requested.pk}/")
    html = page.content.decode()
    assert "Ship the checkout fix" in html and "dev@" not in html  # the developer persona of acme
    assert world.user(Role.DEVELOPER).email in html
    assert 'id="approve-now"' in html and 'id="manifest-diff"' in html and "diff-add" in html
    assert page.context["can_decide"] is True

    client.force_login(world.user(Role.DEVELOPER))
    html = client.get(f"/t/acme/approvals/{requested.pk}/").content.decode()
    assert 'id="approve-now"' not in html and 'id="withdraw-form"' in html
    fragment = client.get(f"/t/acme/approvals/{requested.pk}/progress/")
    assert fragment.status_code == 200 and b'id="stages"' in fragment.content and b"<html" not in fragment.content


def test_deciding_in_the_browser_needs_reauthentication_first(world, client, requested):
    approve = f"/t/acme/approvals/{requested.pk}/approve/"
    client.force_login(world.user(Role.ADMIN))
    response = client.get(approve)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    response = client.post(approve, {"comment": "sneaky"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    assert not Decision.objects.exists()

    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get(approve)
    assert page.status_code == 200 and b'id="confirm-decision"' in page.content
    response = client.post(approve, {"comment": "Ship it"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/t/acme/approvals/{requested.pk}/"
    assert "Approved: change request" in response.content.decode()
    requested.refresh_from_db()
    assert requested.state == "approved"
    assert Deployment.objects.get().state == State.QUEUED

    # Deciding on a closed request: the refusal is shown and nothing changes.
    response = client.post(f"/t/acme/approvals/{requested.pk}/reject/", {"comment": "late"}, follow=True)
    assert "closed" in response.content.decode()
    assert Decision.objects.count() == 1


def test_a_viewer_is_told_deciding_needs_a_developer(world, client, requested):
    client.force_login(world.user(Role.VIEWER))
    response = client.get(f"/t/acme/approvals/{requested.pk}/approve/")
    assert response.status_code == 403
    assert "Deciding on change requests needs the developer role or above" in response.content.decode()
    assert client.get("/t/acme/approvals/999999/approve/").status_code == 404  # no such request


def test_the_requester_withdraws_from_the_page(world, client, requested):
    client.force_login(world.user(Role.DEVELOPER))
    client.post(f"/t/acme/approvals/{requested.pk}/withdraw/", {"reason": "wrong build"})
    requested.refresh_from_db()
    assert requested.state == "cancelled" and Deployment.objects.get().state == State.CANCELLED


def test_the_policy_form_saves_and_shows_refusals(world, client):
    prod = world.acme.environments.get(name="prod")
    client.force_login(world.user(Role.OWNER))
    url = f"/t/acme/approvals/policies/{prod.pk}/"
    assert client.get(url).status_code == 200
    refused = client.post(
        url,
        {
            "requires_approval": "on",
            "expire_after_hours": 72,
            "stage-0-name": "Devs",
            "stage-0-roles": [Role.DEVELOPER],
            "stage-0-quorum": 1,
        },
    )
    assert refused.status_code == 400 and "could approve it" in refused.content.decode()
    assert not ApprovalPolicy.objects.exists()

    saved = client.post(
        url,
        {
            "requires_approval": "on",
            "expire_after_hours": 48,
            "stage-0-name": "Admins",
            "stage-0-roles": [Role.ADMIN, Role.OWNER],
            "stage-0-quorum": 1,
            "stage-1-name": "Owner",
            "stage-1-members": [world.user(Role.OWNER).pk],
        },
    )
    assert saved.status_code == 302
    policy = ApprovalPolicy.objects.get(environment=prod)
    assert [stage.name for stage in policy.stages.order_by("position")] == ["Admins", "Owner"]
    assert "Admins" in client.get("/t/acme/approvals/policies/").content.decode()

    client.force_login(world.user(Role.DEVELOPER))
    assert client.get(url).status_code == 403


def test_the_freeze_form_refuses_an_end_before_the_start(world, client):
    client.force_login(world.user(Role.ADMIN))
    start = timezone.now() + timedelta(days=1)
    response = client.post(
        "/t/acme/approvals/freezes/new/",
        {
            "name": "Backwards",
            "recurrence": "once",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400 and "must end after it starts" in response.content.decode()
    assert not FreezeWindow.objects.exists()
    response = client.post(
        "/t/acme/approvals/freezes/new/",
        {"name": "Weekend", "recurrence": "weekly", "weekdays": [5, 6], "start_time": "00:00", "end_time": "23:00"},
    )
    assert response.status_code == 302
    assert "Sat, Sun" in client.get("/t/acme/approvals/freezes/").content.decode()


def test_the_nav_counts_the_requests_waiting_for_you(world, client, requested):
    """The badge is the queue's "Waiting for you": the admin who decides sees 1; the developer who
    asked and the viewer who cannot decide see none."""
    assert ChangeRequest.objects.count() == 1
    badge = 'title="Change requests waiting for you">1<'
    client.force_login(world.user(Role.ADMIN))
    html = client.get("/t/acme/").content.decode()
    assert 'id="nav-approvals"' in html and badge in html
    assert [cr.pk for cr in client.get("/t/acme/approvals/").context["waiting"]] == [requested.pk]
    for role in (Role.DEVELOPER, Role.VIEWER):
        client.force_login(world.user(role))
        html = client.get("/t/acme/").content.decode()
        assert 'id="nav-approvals"' in html and "waiting for you" not in html
        assert client.get("/t/acme/approvals/").context["waiting"] == []


def test_the_nav_badge_is_the_queues_count_in_one_query(world, rf):
    """Whatever the stages, who asked, who decided already and the role: the badge counts what the
    queue lists as waiting for the member, in one query however many requests are open."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.approvals.selectors import waiting_for
    from apps.approvals.templatetags.approvals import pending_change_requests
    from tests.base.cases_approvals import change_request

    admin, developer = world.user(Role.ADMIN), world.user(Role.DEVELOPER)
    devs = [{"position": 1, "name": "Devs", "quorum": 1, "roles": [Role.DEVELOPER], "members": []}]
    change_request(world.acme, developer)  # admins decide
    change_request(world.acme, admin)  # asked by the admin: not theirs to approve
    change_request(world.acme, admin, allow_self_approval=True)
    change_request(world.acme, admin, stages=devs)  # a developer's, in prod
    change_request(world.acme, admin, stages=devs, environment=world.acme.environments.get(name="dev"))
    change_request(
        world.acme,
        developer,
        stages=[{"position": 1, "name": "Ops", "quorum": 1, "roles": [], "members": [], "operators": True}],
    )
    decided = change_request(world.acme, developer)
    Decision.objects.create(
        change_request=decided, stage=1, approver=admin, verdict="approve", change_hash="x", revision=1
    )
    change_request(world.globex, world.user(Role.DEVELOPER, "globex"))  # another tenant's
    for role in (Role.OWNER, Role.ADMIN, Role.DEVELOPER):
        request = rf.get("/t/acme/")
        request.user, request.tenant, request.role = world.user(role), world.acme, role
        with CaptureQueriesContext(connection) as queries:
            count = pending_change_requests({"request": request})
        assert count == len(waiting_for(request.user, [world.acme.pk])), role
        assert len(queries) == 1, [q["sql"] for q in queries]
    assert count == 1  # the developer: the request in dev (prod needs an admin to deploy unapproved)


def test_the_operator_console_lists_pending_requests_and_sets_the_rules(world, client):
    from apps.approvals.models import ApprovalRules
    from tests.base.cases_approvals import change_request

    old = change_request(world.globex, world.user(Role.DEVELOPER, "globex"))
    ChangeRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    new = change_request(world.acme, world.user(Role.DEVELOPER))
    client.force_login(world.user(Role.OWNER))
    assert client.get("/operator/approvals/").status_code == 404
    client.force_login(world.operator)
    page = client.get("/operator/approvals/")
    assert [row.pk for row in page.context["requests"]] == [old.pk, new.pk]
    assert f'data-request="{old.pk}" class="table-danger" data-over-sla="1"' in page.content.decode()
    response = client.post(
        "/operator/approvals/rules/", {"min_quorum": 2, "max_pending_hours": 100, "review_sla_hours": 48}
    )
    assert response.status_code == 302
    assert ApprovalRules.current().min_quorum == 2 and ApprovalRules.current().review_sla_hours == 48
    refused = client.post(
        "/operator/approvals/rules/", {"min_quorum": 0, "max_pending_hours": 100, "review_sla_hours": 48}
    )
    assert refused.status_code == 400 and ApprovalRules.current().min_quorum == 2


def test_the_request_page_shows_the_cmdb_blast_radius_with_paths(world, client, governed):
    from apps.cmdb import keys
    from apps.cmdb.models import CIType, ConfigurationItem
    from apps.cmdb.services.items import item_declare, relationship_declare

    app = make_app(world.acme, "shop")
    developer = world.user(Role.DEVELOPER)
    billing = item_declare(
        actor=as_principal(developer), tenant=world.acme, ci_type=CIType.objects.get(slug="application"), name="billing"
    )
    relationship_declare(
        actor=as_principal(developer),
        source=billing,
        target=ConfigurationItem.objects.get(key=keys.application_key(app.pk)),
        kind="depends_on",
    )
    client.force_login(developer)
    deploy_form(client, make_release(app), governed, justification="Ship it")
    request = ChangeRequest.objects.get()
    page = client.get(f"/t/acme/approvals/{request.pk}/").content.decode()
    assert 'id="impact"' in page
    assert f'href="/t/acme/cmdb/{billing.pk}/">billing</a>' in page
    assert "acme--prod/shop → shop → billing" in page


def test_promoting_into_governed_production_from_the_page_says_it_waits(world, client, governed):
    from apps.deployments.services import deployment_create

    staging = world.acme.environments.get(name="staging")
    source, _ = deployment_create(
        actor=world.principal(Role.DEVELOPER), release=make_release(make_app(world.acme, "shop")), environment=staging
    )
    Deployment.objects.filter(pk=source.pk).update(state=State.SUCCEEDED)
    client.force_login(world.user(Role.ADMIN))
    url = f"/t/acme/deployments/{source.pk}/promote/"
    refused = client.post(url, {"environment": governed.pk}, follow=True)
    assert "need approval" in refused.content.decode() and Deployment.objects.count() == 1
    response = client.post(url, {"environment": governed.pk, "justification": "Staging is green"}, follow=True)
    promoted = Deployment.objects.get(environment=governed)
    assert response.redirect_chain[-1][0] == f"/t/acme/deployments/{promoted.pk}/"
    request = ChangeRequest.objects.get(deployment=promoted)
    assert f"Promotion to prod waits for approval — change request {request.pk}." in response.content.decode()
