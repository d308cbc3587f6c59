"""Step-up through the API: a session deciding on a change request (tenant or operator endpoint) must
have re-authenticated recently, exactly as the browser's decision pages ask; an API key needs the
approvals:write scope instead, and the approval policy still decides who may approve."""

import pytest

from apps.approvals.changes import render_change
from apps.approvals.models import ChangeRequest, Decision
from apps.tenants.roles import Role
from apps.tenants.services import quota_set
from apps.tenants.stepup import REAUTHENTICATION_REQUIRED
from tests.approvals.conftest import reauthenticate
from tests.base.cases_approvals import change_request

pytestmark = pytest.mark.django_db


def settings_request(world, **fields):
    """A pending request to turn automatic rollback off in acme's prod: it renders without a cluster."""
    request = change_request(
        world.acme,
        world.user(Role.DEVELOPER),
        kind="settings",
        params={"auto_rollback": False},
        title="Turn automatic rollback off in prod",
        **fields,
    )
    request.change_hash = render_change(request).fingerprint
    request.save(update_fields=["change_hash"])
    return request


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_a_session_decides_over_the_api_only_after_reauthenticating(world, api, verdict):
    request = settings_request(world)
    url = f"/api/v1/change-requests/{request.pk}/{verdict}/"
    api.as_user(world.user(Role.ADMIN))

    refused = api.post(url, {"comment": "looks fine"}, format="json")
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == REAUTHENTICATION_REQUIRED
    assert "/accounts/reauthenticate/" in refused.json()["detail"]
    assert not Decision.objects.exists()
    assert ChangeRequest.objects.get(pk=request.pk).state == "pending"

    reauthenticate(api)
    response = api.post(url, {"comment": "looks fine"}, format="json")
    assert response.status_code == 200, response.content
    assert Decision.objects.get().verdict == verdict


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_an_operator_session_decides_over_the_operator_api_only_after_reauthenticating(world, api, verdict):
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    pk = (
        api.as_user(world.user(Role.OWNER))
        .post(
            "/api/v1/quotas/request-increase/",
            {"tenant": "acme", "resource": "pods", "limit": 40, "justification": "Launch week"},
            format="json",
        )
        .json()["change_request"]
    )
    url = f"/api/v1/operator/change-requests/{pk}/{verdict}/"
    api.as_user(world.operator)

    refused = api.post(url, {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == REAUTHENTICATION_REQUIRED
    assert not Decision.objects.exists()

    reauthenticate(api)
    assert api.post(url, {}, format="json").status_code == 200
    assert Decision.objects.get().verdict == verdict


def test_reauthentication_does_not_make_someone_an_approver(world, api):
    request = settings_request(world)
    api.as_user(world.user(Role.VIEWER))
    reauthenticate(api)
    assert api.post(f"/api/v1/change-requests/{request.pk}/approve/", {}, format="json").status_code == 403
    api.as_user(world.user(Role.DEVELOPER))  # the requester, where the policy forbids approving one's own change
    reauthenticate(api)
    response = api.post(f"/api/v1/change-requests/{request.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and response.json()["code"] in ("self_approval", "not_an_approver")
    assert not Decision.objects.exists()


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_an_api_key_decides_with_approvals_write_and_no_session(world, api, verdict):
    request = settings_request(world)
    url = f"/api/v1/change-requests/{request.pk}/{verdict}/"
    api.with_key(world.key(Role.ADMIN, scopes=["approvals:read", "deployments:write"]))
    refused = api.post(url, {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    assert not Decision.objects.exists()

    api.with_key(world.key(Role.ADMIN, scopes=["approvals:write"]))
    assert api.post(url, {}, format="json").status_code == 200
    assert Decision.objects.get().api_key is not None


def test_an_operator_cannot_decide_with_an_api_key(world, api):
    request = settings_request(
        world,
        stages=[
            {"position": 1, "name": "Platform operators", "quorum": 1, "roles": [], "members": [], "operators": True}
        ],
    )
    api.with_key(world.key(Role.OWNER, scopes=["approvals:write"]))
    assert api.post(f"/api/v1/operator/change-requests/{request.pk}/approve/", {}, format="json").status_code in (
        401,
        403,
    )
    assert not Decision.objects.exists()


def test_a_session_cannot_mint_a_key_that_approves_without_reauthenticating(world, api, client):
    """Otherwise a session refused at approve/ could make an approvals:write key and approve with it."""
    from apps.apikeys.models import APIKey

    api.as_user(world.user(Role.ADMIN))
    body = {"tenant": "acme", "name": "approver", "scopes": ["approvals:read", "approvals:write"]}
    refused = api.post("/api/v1/api-keys/", body, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == REAUTHENTICATION_REQUIRED
    assert not APIKey.objects.filter(name="approver").exists()
    plain = api.post("/api/v1/api-keys/", {**body, "name": "reader", "scopes": ["approvals:read"]}, format="json")
    assert plain.status_code == 201  # a key that cannot approve needs no step-up

    reauthenticate(api)
    created = api.post("/api/v1/api-keys/", body, format="json")
    assert created.status_code == 201, created.content

    # Rotating it later, in a session that has not re-authenticated, is refused the same way; so is the page.
    api.as_user(world.user(Role.ADMIN))
    rotated = api.post(f"/api/v1/api-keys/{created.json()['id']}/rotate/", {"overlap_hours": 0}, format="json")
    assert rotated.status_code == 403 and rotated.json()["code"] == REAUTHENTICATION_REQUIRED
    client.force_login(world.user(Role.ADMIN))
    page = client.post("/t/acme/keys/", {"name": "page", "scopes": ["approvals:write"], "expires_in_days": 30})
    assert "needs a recent re-authentication" in page.content.decode()
    assert not APIKey.objects.filter(name="page").exists()
    # The page's Rotate leads to the confirmation and back to the keys, where it is clicked again.
    key_id = created.json()["id"]
    sent = client.post(f"/t/acme/keys/{key_id}/rotate/", {"overlap_hours": "1"})
    assert sent.status_code == 302 and sent["Location"].startswith("/accounts/reauthenticate/")
    assert "next=%2Ft%2Facme%2Fkeys%2F" in sent["Location"]
    assert not APIKey.objects.filter(rotated_from_id=key_id).exists()
    reauthenticate(client)
    assert client.post(f"/t/acme/keys/{key_id}/rotate/", {"overlap_hours": "1"}).status_code == 200
    assert APIKey.objects.filter(rotated_from_id=key_id).exists()
