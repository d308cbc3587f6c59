"""Deciding where the request is seen: Approve and Reject in one click on the deployment page and on
the request's page (where the approvers' email lands), one re-authentication for several decisions in
a row, and the reason someone cannot decide said before they try. Separation of duties still holds."""

import pytest

from apps.approvals.eligibility import SELF_APPROVAL
from apps.approvals.models import Decision
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.tenants.roles import Role
from tests.base.cases_approvals import change_request
from tests.factories import PASSWORD

from . import test_pages
from .test_step_up import settings_request

pytestmark = pytest.mark.django_db

# A production deploy a developer asked for through the deploy form, waiting for the admins.
governed, requested = test_pages.governed, test_pages.requested


def reauthenticated_minutes_ago(client, minutes: float) -> None:
    """Confirm the password now, then age that confirmation as if it were `minutes` old."""
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    session = client.session
    for record in session["account_authentication_methods"]:
        record["at"] -= minutes * 60
    session.save()


def test_the_deployment_page_offers_one_click_decisions_to_an_approver(world, client, requested):
    page = f"/t/acme/deployments/{requested.deployment_id}/"
    client.force_login(world.user(Role.ADMIN))
    html = client.get(page).content.decode()
    assert 'id="approve-now"' in html and 'id="reject-now"' in html
    assert f'formaction="/t/acme/approvals/{requested.pk}/approve/"' in html
    assert f'name="next" value="{page}"' in html

    # The first decision asks for the password, then goes through with the comment, back on the deployment.
    response = client.post(f"/t/acme/approvals/{requested.pk}/approve/", {"comment": "Ship it", "next": page})
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not Decision.objects.exists()
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == page
    decision = Decision.objects.get()
    assert decision.approver == world.user(Role.ADMIN) and decision.comment == "Ship it"
    assert Deployment.objects.get().state == State.QUEUED
    assert 'id="approve-now"' not in client.get(page).content.decode()


def test_the_requester_and_a_developer_are_told_why_before_they_try(world, client, requested):
    client.force_login(world.user(Role.DEVELOPER))  # the requester, and the stage wants an admin or owner
    html = client.get(f"/t/acme/deployments/{requested.deployment_id}/").content.decode()
    assert 'id="approve-now"' not in html
    assert "Stage 1 (Admins) is decided by an admin or owner; your role is developer." in html

    admin = world.user(Role.ADMIN)
    own = change_request(world.acme, admin, title="Scale web to 4")
    client.force_login(admin)
    reauthenticated_minutes_ago(client, 0)
    html = client.get(f"/t/acme/approvals/{own.pk}/approve/").content.decode()
    assert SELF_APPROVAL[1] in html and 'id="confirm-decision"' not in html
    assert SELF_APPROVAL[1] in client.get(f"/t/acme/approvals/{own.pk}/").content.decode()
    # Said up front, and still enforced when posted anyway.
    client.post(f"/t/acme/approvals/{own.pk}/approve/", {"comment": "mine"})
    assert not Decision.objects.filter(change_request=own).exists()


def test_one_reauthentication_covers_several_decisions_in_a_row(world, client):
    requests = [settings_request(world) for _ in range(3)]
    client.force_login(world.user(Role.ADMIN))
    reauthenticated_minutes_ago(client, 8)  # the approver read the first diff for a while
    for row in requests:
        response = client.post(f"/t/acme/approvals/{row.pk}/approve/", {"comment": "ok"})
        assert response["Location"] == f"/t/acme/approvals/{row.pk}/", response["Location"]
    assert Decision.objects.count() == 3


def test_an_old_reauthentication_is_asked_again(world, client):
    row = change_request(world.acme, world.user(Role.DEVELOPER))
    client.force_login(world.user(Role.ADMIN))
    reauthenticated_minutes_ago(client, 16)
    response = client.post(f"/t/acme/approvals/{row.pk}/approve/", {"comment": "ok"})
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not Decision.objects.exists()


def test_next_never_leaves_the_portal(world, client):
    row = settings_request(world)
    client.force_login(world.user(Role.ADMIN))
    reauthenticated_minutes_ago(client, 0)
    response = client.post(f"/t/acme/approvals/{row.pk}/reject/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/t/acme/approvals/{row.pk}/"
    assert Decision.objects.get().verdict == "reject"
