"""Asking for more quota: owners and admins file a change request from the API or the quotas page;
operators decide it (tests/approvals/test_rules.py covers the decision)."""

import pytest

from apps.approvals.choices import ChangeKind, RequestState
from apps.approvals.models import ChangeRequest
from apps.tenants.roles import Role
from apps.tenants.services import quota_set
from tests.approvals.conftest import reauthenticate
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/quotas/request-increase/"


def body(**overrides):
    return {"tenant": "acme", "resource": "pods", "limit": 40, "justification": "Launch week", **overrides}


def test_an_admin_asks_for_more_over_the_api(world, api):
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    response = api.with_key(world.key(Role.ADMIN)).post(URL, body(environment="prod"), format="json")
    assert response.status_code == 201, response.content
    request = ChangeRequest.objects.get(pk=response.json()["change_request"])
    assert request.kind == ChangeKind.QUOTA and request.state == RequestState.PENDING
    assert request.params == {"resource": "pods", "limit": 40, "environment": request.environment_id}
    assert request.environment.name == "prod"


def test_bad_quota_requests_are_refused_and_change_nothing(world, api):
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    api.as_user(world.user(Role.ADMIN))
    assert api.post(URL, body(limit=5), format="json").json()["code"] == "quota_not_an_increase"
    assert api.post(URL, body(justification=""), format="json").status_code == 400
    assert api.post(URL, body(environment="nowhere"), format="json").json()["fields"]["environment"]
    assert api.post(URL, body(tenant="globex"), format="json").status_code == 400  # not their tenant
    assert api.as_user(world.user(Role.DEVELOPER)).post(URL, body(), format="json").status_code == 403
    assert not ChangeRequest.objects.exists()


def test_the_quotas_page_files_the_request(world, client):
    client.force_login(world.user(Role.OWNER))
    page = client.get("/t/acme/quotas/")
    assert b"Ask for more" in page.content
    response = client.post("/t/acme/quotas/", {"resource": "cpu", "limit": 8000, "justification": "Bigger nodes"})
    assert response.status_code == 302
    assert ChangeRequest.objects.get().params["resource"] == "cpu"
    client.force_login(world.user(Role.DEVELOPER))
    assert b"Ask for more" not in client.get("/t/acme/quotas/").content


def test_an_operator_approves_the_increase_over_the_operator_api(world, api):
    from apps.tenants.models import Quota

    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    pk = api.as_user(world.user(Role.OWNER)).post(URL, body(), format="json").json()["change_request"]
    assert api.post(f"/api/v1/operator/change-requests/{pk}/approve/", {}, format="json").status_code == 403
    api.as_user(world.operator)
    reauthenticate(api)  # deciding by session needs a recent re-authentication, as in the console
    pending = api.get("/api/v1/operator/change-requests/").json()["results"]
    assert [row["id"] for row in pending] == [pk]
    response = api.post(f"/api/v1/operator/change-requests/{pk}/approve/", {"comment": "ok"}, format="json")
    assert response.status_code == 200, response.content
    assert Quota.objects.get(tenant=world.acme, resource="pods", environment=None).limit == 40
    assert api.post(f"/api/v1/operator/change-requests/{pk}/reject/", {}, format="json").status_code == 404


def test_an_operator_decides_from_the_console_after_reauthenticating(world, client):
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    client.force_login(world.user(Role.OWNER))
    client.post("/t/acme/quotas/", {"resource": "pods", "limit": 12, "justification": "Two more"})
    request = ChangeRequest.objects.get()
    client.force_login(world.operator)
    page = client.get("/operator/approvals/")
    assert f"/operator/approvals/{request.pk}/reject/".encode() in page.content
    url = f"/operator/approvals/{request.pk}/reject/"
    assert client.get(url)["Location"].startswith("/accounts/reauthenticate/")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = client.post(url, {"comment": "Not this month"}, follow=True)
    assert "Rejected: change request" in response.content.decode()
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED and "Not this month" in request.outcome
