"""The approvals REST API: policies (and refusals of bad ones), freeze windows, and change requests
decided over the API by session and by API key, against the sandbox cluster the change renders for."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.approvals.models import ApprovalPolicy, ApprovalRules, ChangeRequest, Decision, FreezeWindow
from apps.approvals.services.configuration import UNSATISFIABLE, approval_policy_save
from apps.audit.models import AuditEvent
from apps.clusters.services import cluster_register
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.tenants.roles import Role
from tests.approvals.conftest import reauthenticate
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db

ADMINS = {"name": "Admins", "quorum": 1, "roles": [Role.ADMIN, Role.OWNER]}


@pytest.fixture
def prod(world, sandbox):
    """acme's prod on the sandbox cluster, governed by one stage: an admin or an owner approves."""
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    environment = world.acme.environments.get(name="prod")
    approval_policy_save(actor=world.principal(Role.OWNER), tenant=world.acme, environment=environment, stages=[ADMINS])
    return environment


def request_deploy(api, world, prod, justification="Ship the checkout fix") -> dict:
    release = make_release(make_app(world.acme, "shop"))
    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(
        "/api/v1/deployments/",
        {"tenant": "acme", "release": release.pk, "environment": prod.pk, "justification": justification},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def url(change_request_id, action=""):
    return f"/api/v1/change-requests/{change_request_id}/" + (f"{action}/" if action else "")


# --- Policies ----------------------------------------------------------------------------------


def test_an_admin_sets_a_policy_with_named_members_and_reads_it_back(world, api):
    api.as_user(world.user(Role.ADMIN))
    staging = world.acme.environments.get(name="staging")
    response = api.post(
        "/api/v1/approval-policies/",
        {
            "tenant": "acme",
            "environment": staging.pk,
            "expire_after_hours": 24,
            "stages": [
                {"name": "Leads", "quorum": 1, "roles": [], "members": [world.user(Role.DEVELOPER).email]},
                {"name": "Admins", "quorum": 2, "roles": [Role.ADMIN, Role.OWNER]},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["environment_name"] == "staging" and body["expire_after_hours"] == 24
    assert [(s["position"], s["name"], s["quorum"]) for s in body["stages"]] == [(1, "Leads", 1), (2, "Admins", 2)]
    assert body["stages"][0]["members"] == [world.user(Role.DEVELOPER).email]

    # Turning approval off is the owners' call: an admin could otherwise make a change alone in between.
    response = api.patch(f"/api/v1/approval-policies/{body['id']}/", {"requires_approval": False}, format="json")
    assert response.status_code == 403 and "Only owners" in response.json()["detail"], response.content
    assert api.delete(f"/api/v1/approval-policies/{body['id']}/").status_code == 403
    assert ApprovalPolicy.objects.get(pk=body["id"]).requires_approval is True
    loosen = api.patch(f"/api/v1/approval-policies/{body['id']}/", {"allow_self_approval": True}, format="json")
    assert loosen.status_code == 403, loosen.content  # refused for who asks before what is asked
    api.as_user(world.user(Role.OWNER))
    response = api.patch(f"/api/v1/approval-policies/{body['id']}/", {"requires_approval": False}, format="json")
    assert response.status_code == 200 and response.json()["requires_approval"] is False
    assert len(response.json()["stages"]) == 2  # left out, so kept
    assert api.get("/api/v1/approval-policies/?tenant=acme").json()["results"][0]["id"] == body["id"]


@pytest.mark.parametrize(
    "stages, code, field",
    [
        (
            [{"name": "Devs", "quorum": 1, "roles": [Role.DEVELOPER]}],
            UNSATISFIABLE,
            "stages",
        ),  # devs cannot deploy there
        ([{"name": "Admins", "quorum": 3, "roles": [Role.ADMIN, Role.OWNER]}], UNSATISFIABLE, "stages"),  # only two
        ([{"name": "Viewers", "quorum": 1, "roles": [Role.VIEWER]}], "invalid", "stages"),
        ([{"name": "Nobody", "quorum": 1, "roles": []}], "invalid", "stages"),
    ],
)
def test_a_policy_whose_stages_cannot_be_satisfied_is_refused_and_nothing_changes(world, api, stages, code, field):
    api.as_user(world.user(Role.OWNER))
    before = (ApprovalPolicy.objects.count(), AuditEvent.objects.count())
    response = api.post(
        "/api/v1/approval-policies/",
        {"tenant": "acme", "environment": world.acme.environments.get(name="prod").pk, "stages": stages},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and field in response.json()["fields"]
    assert (ApprovalPolicy.objects.count(), AuditEvent.objects.count()) == before


def test_a_freeze_that_ends_before_it_starts_is_refused(world, api):
    api.as_user(world.user(Role.ADMIN))
    start = timezone.now() + timedelta(days=2)
    response = api.post(
        "/api/v1/freeze-windows/",
        {
            "tenant": "acme",
            "name": "Oops",
            "recurrence": "once",
            "starts_at": start.isoformat(),
            "ends_at": (start - timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "ends_at" in response.json()["fields"]
    assert not FreezeWindow.objects.exists()


def test_an_admin_cannot_set_an_environment_free_of_the_tenant_default_that_governs_it(world, api, client):
    """An environment's own policy replaces the default for it: with a default that requires approval,
    an admin's `requires_approval: false` for staging would take staging out from under it."""
    approval_policy_save(actor=world.principal(Role.OWNER), tenant=world.acme, stages=[ADMINS])
    staging = world.acme.environments.get(name="staging")
    free = {"tenant": "acme", "environment": staging.pk, "requires_approval": False, "stages": []}
    api.as_user(world.user(Role.ADMIN))
    response = api.post("/api/v1/approval-policies/", free, format="json")
    assert response.status_code == 403 and "Only owners" in response.json()["detail"], response.content
    assert not ApprovalPolicy.objects.filter(environment=staging).exists()
    client.force_login(world.user(Role.ADMIN))
    page = client.get("/t/acme/approvals/policies/").content.decode()
    assert "Set policy" not in page and "Set default" not in page
    assert client.get(f"/t/acme/approvals/policies/{staging.pk}/").status_code == 403
    client.force_login(world.user(Role.OWNER))
    assert "Set policy" in client.get("/t/acme/approvals/policies/").content.decode()
    api.as_user(world.user(Role.OWNER))
    assert api.post("/api/v1/approval-policies/", free, format="json").status_code == 201


def test_a_freeze_in_effect_is_lifted_by_an_owner_only(world, api, prod):
    def freeze(who, starts_in):
        api.as_user(world.user(who))
        start = timezone.now() + starts_in
        body = {"tenant": "acme", "environment": prod.pk, "name": f"{who} freeze", "recurrence": "once"}
        body |= {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}
        response = api.post("/api/v1/freeze-windows/", body, format="json")
        assert response.status_code == 201, response.content
        return f"/api/v1/freeze-windows/{response.json()['id']}/"

    owners, admins, later = (
        freeze(Role.OWNER, timedelta(0)),
        freeze(Role.ADMIN, timedelta(0)),
        freeze(Role.ADMIN, timedelta(days=1)),
    )
    api.as_user(world.user(Role.ADMIN))
    for in_effect in (owners, admins):  # lifting one would let the admin through a freeze only owners pass
        response = api.delete(in_effect)
        assert response.status_code == 403 and "Owners remove freezes" in response.json()["detail"], response.content
    assert api.delete(later).status_code == 204  # their own, not yet in effect
    api.as_user(world.user(Role.OWNER))
    assert api.delete(admins).status_code == 204 and api.delete(owners).status_code == 204
    assert not FreezeWindow.objects.exists()


# A Wednesday noon (UTC): well inside the window whatever the time the suite runs, where the last
# second of a day is not. The clock ticks on from there, so timeouts and the sandbox still advance.
@time_machine.travel(datetime(2026, 1, 7, 12, 0, tzinfo=UTC), tick=True)
def test_a_weekly_freeze_refuses_changes_during_it(world, api, prod):
    api.as_user(world.user(Role.ADMIN))
    response = api.post(
        "/api/v1/freeze-windows/",
        {
            "tenant": "acme",
            "name": "Always",
            "recurrence": "weekly",
            "weekdays": list(range(7)),
            "start_time": "00:00",
            "end_time": "23:59:59",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    release = make_release(make_app(world.acme, "shop"))
    response = api.post(
        "/api/v1/deployments/",
        {"tenant": "acme", "release": release.pk, "environment": prod.pk, "justification": "now"},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "change_freeze"
    assert not Deployment.objects.exists()


# --- Change requests ---------------------------------------------------------------------------


def test_a_developer_may_request_a_governed_production_deploy_but_not_an_ungoverned_one(world, api, prod):
    release = make_release(make_app(world.acme, "web"))
    api.as_user(world.user(Role.DEVELOPER))
    staging_like = world.globex.environments.get(name="prod")  # globex prod has no policy
    api.as_user(world.user(Role.DEVELOPER, "globex"))
    other = make_release(make_app(world.globex, "web"))
    response = api.post(
        "/api/v1/deployments/", {"tenant": "globex", "release": other.pk, "environment": staging_like.pk}, format="json"
    )
    assert response.status_code == 403

    api.as_user(world.user(Role.DEVELOPER))
    response = api.post(
        "/api/v1/deployments/", {"tenant": "acme", "release": release.pk, "environment": prod.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "justification_required"
    assert "justification" in response.json()["fields"]
    assert not Deployment.objects.filter(tenant=world.acme).exists()


def test_request_then_approve_over_the_api_queues_the_deployment(world, api, prod):
    deployment = request_deploy(api, world, prod)
    assert deployment["state"] == State.PENDING_APPROVAL and deployment["change_request"]
    cr = deployment["change_request"]
    assert _listed_change_requests(api)[deployment["id"]] == cr

    detail = api.get(url(cr)).json()
    assert detail["requested_by"] == world.user(Role.DEVELOPER).email
    assert detail["justification"] == "Ship the checkout fix" and detail["can_decide"] is False
    assert detail["can_withdraw"] is True
    assert detail["stages"] == [
        {
            "position": 1,
            "name": "Admins",
            "quorum": 1,
            "approvals": 0,
            "status": "current",
            "roles": [Role.ADMIN, Role.OWNER],
            "members": [],
        }
    ]
    assert any(row["field"] == "image" for row in detail["change"]["release_diff"])
    assert "kind: Deployment" in detail["change"]["manifest_diff"]
    assert set(detail["waiting_on"]) == {world.user(Role.ADMIN).email, world.user(Role.OWNER).email}
    refused = api.post(url(cr, "approve"), {"comment": "mine"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_an_approver"

    api.as_user(world.user(Role.ADMIN))
    reauthenticate(api)
    mine = api.get("/api/v1/change-requests/", {"waiting_for_me": "true"}).json()["results"]
    assert [row["id"] for row in mine] == [cr]
    assert api.get(url(cr)).json()["can_decide"] is True
    response = api.post(url(cr, "approve"), {"comment": "Looks right"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "approved" and body["stages"][0]["status"] == "approved"
    assert body["decisions"][0]["approver"] == world.user(Role.ADMIN).email
    assert body["decisions"][0]["comment"] == "Looks right" and body["decisions"][0]["voided"] is False
    assert Deployment.objects.get(pk=deployment["id"]).state == State.QUEUED
    assert AuditEvent.objects.filter(action="change_request.approve", actor=world.user(Role.ADMIN)).count() == 1
    assert api.get("/api/v1/change-requests/", {"waiting_for_me": "true"}).json()["results"] == []

    # Approving a closed request: 409, nothing recorded.
    api.as_user(world.user(Role.OWNER))
    reauthenticate(api)
    again = api.post(url(cr, "approve"), {"comment": "me too"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "request_closed"
    assert Decision.objects.count() == 1


def test_deciding_twice_is_a_409_and_counts_once(world, api, prod):
    approval_policy_save(
        actor=world.principal(Role.OWNER), tenant=world.acme, environment=prod, stages=[{**ADMINS, "quorum": 2}]
    )
    cr = request_deploy(api, world, prod)["change_request"]
    api.as_user(world.user(Role.ADMIN))
    reauthenticate(api)
    assert api.post(url(cr, "approve"), {}, format="json").status_code == 200
    second = api.post(url(cr, "approve"), {"comment": "again"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "already_decided"
    body = api.get(url(cr)).json()
    assert body["state"] == "pending" and body["stages"][0]["approvals"] == 1
    assert body["can_decide"] is False


def test_rejecting_cancels_the_deployment_with_the_reason_visible(world, api, prod):
    deployment = request_deploy(api, world, prod)
    api.as_user(world.user(Role.OWNER))
    reauthenticate(api)
    response = api.post(url(deployment["change_request"], "reject"), {"comment": "Not during the sale"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "rejected" and "Not during the sale" in response.json()["outcome"]
    row = Deployment.objects.get(pk=deployment["id"])
    assert row.state == State.CANCELLED and "Not during the sale" in row.outcome
    assert api.get(f"/api/v1/deployments/{row.pk}/").json()["change_request"] == deployment["change_request"]
    assert _listed_change_requests(api)[row.pk] == deployment["change_request"]  # closed, but the latest


def _listed_change_requests(api) -> dict:
    """Deployment id -> change request id, as the deployments list says."""
    rows = api.get("/api/v1/deployments/", {"tenant": "acme"}).json()["results"]
    return {row["id"]: row["change_request"] for row in rows}


def test_the_requester_withdraws_and_cannot_twice(world, api, prod):
    deployment = request_deploy(api, world, prod)
    response = api.post(url(deployment["change_request"], "withdraw"), {"reason": "wrong build"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert Deployment.objects.get(pk=deployment["id"]).state == State.CANCELLED
    again = api.post(url(deployment["change_request"], "withdraw"), {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "request_closed"


def test_an_api_key_decides_only_with_approvals_write(world, api, prod):
    cr = request_deploy(api, world, prod)["change_request"]
    api.with_key(world.key(Role.ADMIN, scopes=["approvals:read"]))
    assert api.get(url(cr)).status_code == 200
    refused = api.post(url(cr, "approve"), {"comment": "ci"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    assert not Decision.objects.exists()

    api.with_key(world.key(Role.ADMIN, scopes=["approvals:write"]))
    response = api.post(url(cr, "approve"), {"comment": "from the pipeline"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "approved"
    assert Decision.objects.get().api_key is not None


def test_another_tenant_cannot_decide(world, api, prod):
    cr = request_deploy(api, world, prod)["change_request"]
    api.as_user(world.outsider)
    assert api.post(url(cr, "approve"), {}, format="json").status_code == 404
    assert ChangeRequest.objects.get(pk=cr).state == "pending"


def test_break_glass_by_an_owner_deploys_and_opens_a_review(world, api, prod):
    release = make_release(make_app(world.acme, "shop"))
    api.as_user(world.user(Role.ADMIN))
    refused = api.post(
        "/api/v1/deployments/",
        {"tenant": "acme", "release": release.pk, "environment": prod.pk, "break_glass_reason": "outage"},
        format="json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "break_glass_owners_only"
    api.as_user(world.user(Role.OWNER))
    response = api.post(
        "/api/v1/deployments/",
        {"tenant": "acme", "release": release.pk, "environment": prod.pk, "break_glass_reason": "Checkout is down"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["state"] == State.QUEUED
    flagged = ChangeRequest.objects.get(break_glass=True)
    detail = api.get(url(flagged.pk)).json()
    assert detail["state"] == "approved" and detail["break_glass_reason"] == "Checkout is down"
    review = ChangeRequest.objects.get(pk=detail["reviews"][0])
    assert review.kind == "review" and review.state == "pending" and review.review_of_id == flagged.pk
    # The review is not the requester's to call off, nor an admin's.
    assert api.get(url(review.pk)).json()["can_withdraw"] is False
    for who in (Role.OWNER, Role.ADMIN):
        api.as_user(world.user(who))
        assert api.post(url(review.pk, "withdraw"), {"reason": "nothing to see"}, format="json").status_code == 403
    assert ChangeRequest.objects.get(pk=review.pk).state == "pending"


# --- Operators ---------------------------------------------------------------------------------


def test_operators_see_pending_requests_across_tenants_oldest_first(world, api):
    from tests.base.cases_approvals import change_request

    older = change_request(world.globex, world.user(Role.DEVELOPER, "globex"))
    ChangeRequest.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=30))
    newer = change_request(world.acme, world.user(Role.DEVELOPER))
    change_request(world.acme, world.user(Role.DEVELOPER), state="approved")

    api.as_user(world.user(Role.OWNER))
    assert api.get("/api/v1/operator/change-requests/").status_code == 403
    api.as_user(world.operator)
    rows = api.get("/api/v1/operator/change-requests/").json()["results"]
    assert [row["id"] for row in rows] == [older.pk, newer.pk]
    assert rows[0]["over_sla"] is True and rows[0]["age_seconds"] >= 30 * 3600
    assert rows[1]["over_sla"] is False and rows[1]["tenant"] == "acme"


def test_operators_set_the_approval_rules(world, api):
    api.as_user(world.user(Role.OWNER))
    assert api.put("/api/v1/operator/approval-rules/", {"min_quorum": 2}, format="json").status_code == 403
    api.as_user(world.operator)
    response = api.put("/api/v1/operator/approval-rules/", {"min_quorum": 2, "review_sla_hours": 4}, format="json")
    assert response.status_code == 200 and response.json()["min_quorum"] == 2
    assert ApprovalRules.current().review_sla_hours == 4
    assert AuditEvent.objects.filter(action="approval_rules.update", actor=world.operator).exists()
    bad = api.put("/api/v1/operator/approval-rules/", {"min_quorum": 0}, format="json")
    assert bad.status_code == 400 and ApprovalRules.current().min_quorum == 2


def test_a_governed_scale_answers_202_with_its_change_request_and_scales_nothing(world, api, prod, sandbox):
    from apps.clusters.kube import KubeClient
    from apps.clusters.services import environment_provision
    from apps.deployments.manifests import render
    from apps.deployments.services import deployment_create

    environment_provision(environment=prod)
    release = make_release(make_app(world.acme, "shop"))
    deployment, _ = deployment_create(
        actor=world.principal(Role.OWNER),
        release=release,
        environment=prod,
        break_glass_reason="Seed a running release",
    )
    Deployment.objects.filter(pk=deployment.pk).update(state=State.SUCCEEDED)
    cluster = KubeClient(sandbox.api_client())
    cluster.apply([obj for obj in render(release, prod) if obj["kind"] == "Deployment"])

    api.as_user(world.user(Role.ADMIN))
    scale = f"/api/v1/deployments/{deployment.pk}/scale/"
    refused = api.post(scale, {"replicas": 5}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "justification_required"
    response = api.post(scale, {"replicas": 5, "justification": "Evening peak"}, format="json")
    assert response.status_code == 202, response.content
    request = ChangeRequest.objects.get(pk=response.json()["change_request"])
    assert request.kind == "scale" and request.params == {"replicas": 5}
    assert cluster.get("apps/v1", "Deployment", "shop", prod.namespace)["spec"]["replicas"] == 2


def test_a_promotion_into_governed_production_waits_for_approval(world, api, prod):
    from apps.deployments.services import deployment_create

    staging = world.acme.environments.get(name="staging")
    release = make_release(make_app(world.acme, "shop"))
    source, _ = deployment_create(actor=world.principal(Role.DEVELOPER), release=release, environment=staging)
    Deployment.objects.filter(pk=source.pk).update(state=State.SUCCEEDED)

    api.as_user(world.user(Role.ADMIN))
    promote = f"/api/v1/deployments/{source.pk}/promote/"
    refused = api.post(promote, {"environment": prod.pk}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "justification_required"
    response = api.post(promote, {"environment": prod.pk, "justification": "Staging is green"}, format="json")
    assert response.status_code in (200, 201), response.content
    promoted = Deployment.objects.get(pk=response.json()["id"])
    assert promoted.state == State.PENDING_APPROVAL and promoted.environment == prod
    assert ChangeRequest.objects.get(deployment=promoted).justification == "Staging is green"
