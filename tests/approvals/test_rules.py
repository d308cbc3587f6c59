"""The approval rules, each as a test against the real services, the real database and the sandbox
cluster: who may approve, quorum and stage order, expiry, freeze and break-glass, the stale guard."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from apps.approvals import eligibility
from apps.approvals.choices import ChangeKind, Recurrence, RequestState
from apps.approvals.gate import BREAK_GLASS_OWNERS, FROZEN, JUSTIFICATION_REQUIRED
from apps.approvals.models import ApprovalPolicy, ChangeRequest, FreezeWindow
from apps.approvals.services.configuration import INVALID, UNSATISFIABLE, freeze_window_create
from apps.approvals.services.requests import CHANGE_MOVED, change_request_decide, change_requests_expire
from apps.audit.models import AuditEvent
from apps.core.errors import PERMISSION_DENIED, ApplicationError
from apps.deployments.choices import State
from apps.deployments.manifests import render
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from apps.tenants.principals import Principal
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release

from .conftest import add_member, govern

pytestmark = pytest.mark.django_db

ADMINS = ("Admins", 1, (Role.ADMIN, Role.OWNER), ())


def request_deploy(world, release, environment, role=Role.ADMIN, **extra):
    extra.setdefault("justification", "Ship the fix for the checkout bug")
    deployment, _ = deployment_create(actor=world.principal(role), release=release, environment=environment, **extra)
    return deployment, ChangeRequest.objects.filter(deployment=deployment, kind=ChangeKind.DEPLOY).first()


def decide(world, name, request, verdict="approve", comment=""):
    return change_request_decide(
        actor=Principal(world.users[f"acme.{name}"]), change_request=request, verdict=verdict, comment=comment
    )


def refused(code, call, *args, **kwargs):
    with pytest.raises(ApplicationError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_an_ungoverned_environment_deploys_at_once(world, cluster, release):
    deployment, request = request_deploy(world, release, world.acme.environments.get(name="dev"), role=Role.DEVELOPER)
    assert deployment.state == State.QUEUED and request is None


def test_a_governed_change_waits_and_needs_a_reason(world, cluster, release, prod):
    govern(world, prod, ADMINS)
    refused(JUSTIFICATION_REQUIRED, request_deploy, world, release, prod, justification=" ")
    assert not Deployment.objects.exists()
    deployment, request = request_deploy(world, release, prod)
    assert deployment.state == State.PENDING_APPROVAL
    assert request.state == RequestState.PENDING and request.kind == ChangeKind.DEPLOY
    assert (
        request.requested_by == world.user(Role.ADMIN) and request.justification == "Ship the fix for the checkout bug"
    )
    assert deployment.events.last().state == State.PENDING_APPROVAL
    assert "+  replicas: 2" in request.change["manifest_diff"] and request.change["release_diff"]


def test_the_requester_cannot_approve_their_own_change(world, cluster, release, prod):
    govern(world, prod, ADMINS)
    deployment, request = request_deploy(world, release, prod)
    refused(eligibility.SELF_APPROVAL[0], decide, world, "admin", request)
    decide(world, "owner", request, comment="Looks right")
    request.refresh_from_db()
    deployment.refresh_from_db()
    assert request.state == RequestState.APPROVED and deployment.state == State.QUEUED
    assert AuditEvent.objects.filter(action="change_request.approve", object_id=str(request.pk)).count() == 1


def test_an_approver_who_may_not_deploy_there_is_refused(world, cluster, release, prod):
    developer = world.user(Role.DEVELOPER)
    govern(world, prod, ("Owner or the named developer", 1, (Role.OWNER,), (developer,)))
    _, request = request_deploy(world, release, prod)
    refused(eligibility.CANNOT_DEPLOY[0], decide, world, "developer", request)
    refused(PERMISSION_DENIED, decide, world, "viewer", request)  # viewers never decide anything
    assert not request.decisions.exists()


def test_a_policy_nobody_could_satisfy_is_refused(world, prod):
    refused(UNSATISFIABLE, govern, world, prod, ("Three admins", 3, (Role.ADMIN,), ()))
    refused(UNSATISFIABLE, govern, world, prod, ("Developer", 1, (Role.DEVELOPER,), ()))  # cannot deploy to prod
    refused(UNSATISFIABLE, govern, world, prod, ADMINS, ("Again", 2, (Role.ADMIN, Role.OWNER), ()))
    refused(INVALID, govern, world, prod, ("Viewers", 1, (Role.VIEWER,), ()))
    assert not ApprovalPolicy.objects.exists()


def test_quorum_and_ordered_stages(world, cluster, release, prod):
    add_member(world, Role.ADMIN, "admin2")
    add_member(world, Role.ADMIN, "admin3")
    govern(world, prod, ("Two admins", 2, (Role.ADMIN,), ()), ("Owner", 1, (Role.OWNER,), ()))
    deployment, request = request_deploy(world, release, prod)
    refused(eligibility.NOT_AN_APPROVER[0], decide, world, "owner", request)  # stage 2 is not open yet
    decide(world, "admin2", request)
    assert ChangeRequest.objects.get(pk=request.pk).current_stage == 1
    refused(eligibility.ALREADY_DECIDED[0], decide, world, "admin2", request)
    decide(world, "admin3", request)
    request.refresh_from_db()
    assert request.current_stage == 2 and request.state == RequestState.PENDING
    assert Deployment.objects.get(pk=deployment.pk).state == State.PENDING_APPROVAL
    decide(world, "owner", request)
    assert Deployment.objects.get(pk=deployment.pk).state == State.QUEUED
    assert ChangeRequest.objects.get(pk=request.pk).state == RequestState.APPROVED


def test_one_person_approves_one_stage_only(world, cluster, release, prod):
    add_member(world, Role.ADMIN, "admin2")
    govern(world, prod, ADMINS, ("Second look", 1, (Role.ADMIN, Role.OWNER), ()))
    _, request = request_deploy(world, release, prod)
    decide(world, "admin2", request)
    request.refresh_from_db()
    assert request.current_stage == 2
    refused(eligibility.ALREADY_DECIDED[0], decide, world, "admin2", request)
    decide(world, "owner", request)
    assert ChangeRequest.objects.get(pk=request.pk).state == RequestState.APPROVED


def test_a_rejection_ends_the_deployment_with_the_reason(world, cluster, release, prod):
    govern(world, prod, ADMINS)
    deployment, request = request_deploy(world, release, prod)
    decide(world, "owner", request, verdict="reject", comment="Not during the sale")
    deployment.refresh_from_db()
    assert deployment.state == State.CANCELLED and "Not during the sale" in deployment.outcome
    refused(eligibility.CLOSED[0], decide, world, "owner", request)


def test_a_request_nobody_decides_expires(world, cluster, release, prod):
    govern(world, prod, ADMINS, expire_after_hours=2)
    deployment, request = request_deploy(world, release, prod)
    assert request.expires_at - timezone.now() > timedelta(hours=1, minutes=59)
    assert change_requests_expire() == 0
    assert change_requests_expire(now=timezone.now() + timedelta(hours=3)) == 1
    request.refresh_from_db()
    deployment.refresh_from_db()
    assert request.state == RequestState.EXPIRED and deployment.state == State.CANCELLED
    assert "Expired" in deployment.outcome


def test_a_request_past_its_time_is_not_approved_before_the_sweep_comes(world, cluster, release, prod):
    add_member(world, Role.ADMIN, "admin2")
    govern(world, prod, ADMINS, expire_after_hours=2)
    deployment, request = request_deploy(world, release, prod)
    ChangeRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    error = refused("request_closed", decide, world, "admin2", request)
    assert "Expired" in error.message and "nothing was decided" in error.message
    request.refresh_from_db()
    deployment.refresh_from_db()
    assert request.state == RequestState.EXPIRED and not request.decisions.exists()
    assert deployment.state == State.CANCELLED


def test_a_freeze_refuses_changes_and_break_glass_passes_with_a_review(world, cluster, release, prod):
    now = timezone.now()
    freeze_window_create(
        actor=world.principal(Role.ADMIN),
        tenant=world.acme,
        name="Black Friday",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    error = refused(FROZEN, request_deploy, world, release, prod)
    assert "Black Friday" in error.message
    refused(BREAK_GLASS_OWNERS, request_deploy, world, release, prod, break_glass_reason="Payments are down")
    assert not Deployment.objects.exists()
    deployment, request = request_deploy(world, release, prod, role=Role.OWNER, break_glass_reason="Payments are down")
    assert deployment.state == State.QUEUED
    assert request.break_glass and request.state == RequestState.APPROVED
    review = request.reviews.get()
    assert review.kind == ChangeKind.REVIEW and review.state == RequestState.PENDING
    assert AuditEvent.objects.filter(action="change_request.break_glass").count() == 1
    decide(world, "admin", review, comment="Checked afterwards")
    assert ChangeRequest.objects.get(pk=review.pk).state == RequestState.APPROVED


def test_freeze_windows_cover_production_and_refuse_bad_times(world, cluster, release, prod):
    now = datetime.now(UTC)
    refused(
        INVALID,
        freeze_window_create,
        actor=world.principal(Role.ADMIN),
        tenant=world.acme,
        name="Backwards",
        starts_at=now,
        ends_at=now - timedelta(minutes=1),
    )
    refused(
        INVALID,
        freeze_window_create,
        actor=world.principal(Role.ADMIN),
        tenant=world.acme,
        name="Weekly",
        recurrence=Recurrence.WEEKLY,
        weekdays=[now.weekday()],
        start_time=time(18),
        end_time=time(9),
    )
    assert not FreezeWindow.objects.exists()
    freeze_window_create(
        actor=world.principal(Role.ADMIN),
        tenant=world.acme,
        name="Every day, all day",
        recurrence=Recurrence.WEEKLY,
        weekdays=list(range(7)),
        start_time=time(0),
        end_time=time(23, 59, 59, 999999),
    )
    refused(FROZEN, request_deploy, world, release, prod)
    deployment, _ = request_deploy(world, release, world.acme.environments.get(name="dev"), role=Role.DEVELOPER)
    assert deployment.state == State.QUEUED  # tenant-wide windows cover production only


def test_an_approval_of_a_change_that_moved_is_void(world, cluster, release, prod):
    add_member(world, Role.ADMIN, "admin2")
    govern(world, prod, ("Admin and owner", 2, (Role.ADMIN, Role.OWNER), ()))
    deployment, request = request_deploy(world, release, prod)
    decide(world, "admin2", request)
    first_hash = ChangeRequest.objects.get(pk=request.pk).change_hash
    # Someone changes the live state behind the portal's back: the diff the approval saw is not the change any more.
    live = [obj for obj in render(release, prod) if obj["kind"] == "Deployment"][0]
    live["spec"]["replicas"] = 5
    cluster.apply([live])
    refused(CHANGE_MOVED, decide, world, "owner", request)
    request.refresh_from_db()
    assert request.revision == 2 and request.change_hash != first_hash and request.current_stage == 1
    assert request.decisions.get(approver=world.users["acme.admin2"]).voided_at is not None
    assert "-  replicas: 5" in request.change["manifest_diff"]
    assert Deployment.objects.get(pk=deployment.pk).state == State.PENDING_APPROVAL
    decide(world, "owner", request)
    decide(world, "admin2", request)  # the void approval no longer counts, so admin2 approves again
    assert Deployment.objects.get(pk=deployment.pk).state == State.QUEUED


def test_cancelling_a_waiting_deployment_closes_its_request(world, cluster, release, prod):
    from apps.deployments.services import deployment_cancel

    govern(world, prod, ADMINS)
    deployment, request = request_deploy(world, release, prod)
    deployment_cancel(actor=world.principal(Role.ADMIN), deployment=deployment, reason="Wrong release")
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED and "Wrong release" in request.outcome


def test_a_governed_scale_waits_for_approval(world, cluster, release, prod):
    from apps.deployments.services import deployment_scale

    deployment, _ = deployment_create(actor=world.principal(Role.ADMIN), release=release, environment=prod)
    Deployment.objects.filter(pk=deployment.pk).update(state=State.SUCCEEDED)
    cluster.apply([obj for obj in render(release, prod) if obj["kind"] == "Deployment"])
    govern(world, prod, ADMINS)
    result = deployment_scale(
        actor=world.principal(Role.ADMIN),
        deployment=Deployment.objects.get(pk=deployment.pk),
        replicas=4,
        justification="Traffic doubles tonight",
    )
    request = result.change_request
    assert request.kind == ChangeKind.SCALE and request.params == {"replicas": 4}
    assert request.change["release_diff"] == [{"field": "replicas", "before": 2, "after": 4}]
    assert cluster.get("apps/v1", "Deployment", "web", prod.namespace)["spec"]["replicas"] == 2


def test_a_quota_increase_is_decided_by_an_operator(world):
    from apps.tenants.models import Quota
    from apps.tenants.principals import as_principal
    from apps.tenants.services import QUOTA_NOT_AN_INCREASE, quota_request_increase, quota_set

    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    developer, admin = as_principal(world.user(Role.DEVELOPER)), as_principal(world.user(Role.ADMIN))
    refused(
        PERMISSION_DENIED,
        quota_request_increase,
        actor=developer,
        tenant=world.acme,
        resource="pods",
        limit=20,
        justification="More workers",
    )
    refused(
        QUOTA_NOT_AN_INCREASE,
        quota_request_increase,
        actor=admin,
        tenant=world.acme,
        resource="pods",
        limit=5,
        justification="Fewer",
    )
    refused(
        JUSTIFICATION_REQUIRED,
        quota_request_increase,
        actor=admin,
        tenant=world.acme,
        resource="pods",
        limit=20,
        justification="",
    )
    request = quota_request_increase(
        actor=admin, tenant=world.acme, resource="pods", limit=20, justification="The nightly batch needs more workers"
    )
    assert request.kind == ChangeKind.QUOTA and request.change["release_diff"][0]["after"] == 20
    refused(eligibility.NOT_AN_APPROVER[0], decide, world, "owner", request)  # not the tenant's call
    change_request_decide(actor=world.operator_principal, change_request=request, verdict="approve", comment="Fine")
    assert Quota.objects.get(tenant=world.acme, resource="pods", environment=None).limit == 20
    assert ChangeRequest.objects.get(pk=request.pk).state == RequestState.APPROVED


def test_a_quota_approval_is_void_when_the_limit_moved(world):
    from apps.tenants.principals import as_principal
    from apps.tenants.services import quota_request_increase, quota_set

    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=10)
    request = quota_request_increase(
        actor=as_principal(world.user(Role.OWNER)),
        tenant=world.acme,
        resource="pods",
        limit=30,
        justification="Launch week",
    )
    quota_set(operator=world.operator_principal, tenant=world.acme, resource="pods", limit=15)
    refused(
        CHANGE_MOVED, change_request_decide, actor=world.operator_principal, change_request=request, verdict="approve"
    )
    assert ChangeRequest.objects.get(pk=request.pk).revision == 2


def test_a_change_request_shows_the_cmdb_blast_radius(world, cluster, release, prod):
    from apps.cmdb import keys
    from apps.cmdb.models import CIType, ConfigurationItem
    from apps.cmdb.services.items import item_declare, relationship_declare

    app_item = ConfigurationItem.objects.get(key=keys.application_key(release.application_id))
    billing = item_declare(
        actor=world.principal(Role.DEVELOPER),
        tenant=world.acme,
        ci_type=CIType.objects.get(slug="application"),
        name="billing",
    )
    relationship_declare(actor=world.principal(Role.DEVELOPER), source=billing, target=app_item, kind="depends_on")
    govern(world, prod, ADMINS)
    _, request = request_deploy(world, release, prod)
    assert request.impact["item"]["type"] == "workload"  # the app's workload in prod, made with the deployment
    downstream = {item["name"]: item for item in request.impact["downstream"]}
    assert list(downstream) == ["billing"]
    assert downstream["billing"]["path_names"] == ["acme--prod/web", "web", "billing"]


def test_a_waiting_change_is_not_approved_into_a_freeze(world, cluster, release, prod):
    """The last approval carries the change out, so approvals wait for the freeze to end; rejecting does not."""
    govern(world, prod, ADMINS)
    deployment, request = request_deploy(world, release, prod, role=Role.DEVELOPER)
    now = timezone.now()
    freeze_window_create(
        actor=world.principal(Role.ADMIN),
        tenant=world.acme,
        name="Release freeze",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    error = refused(FROZEN, decide, world, "admin", request)
    assert "Release freeze" in error.message
    deployment.refresh_from_db()
    assert deployment.state == State.PENDING_APPROVAL and not request.decisions.exists()
    decide(world, "admin", request, verdict="reject", comment="Not during the freeze")
    deployment.refresh_from_db()
    assert deployment.state == State.CANCELLED


def test_governed_or_frozen_production_cannot_be_made_non_production(world, api, prod):
    """Reclassifying would take it out of the approval and freeze rules that apply to production."""
    from apps.tenants.services import GOVERNED_ENVIRONMENT

    govern(world, prod, ADMINS)
    api.as_user(world.user(Role.ADMIN))
    refused = api.patch(f"/api/v1/environments/{prod.pk}/", {"kind": "non_production"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == GOVERNED_ENVIRONMENT
    ApprovalPolicy.objects.all().delete()
    now = timezone.now()
    freeze_window_create(
        actor=world.principal(Role.ADMIN),
        tenant=world.acme,
        name="Quarter end",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    frozen = api.patch(f"/api/v1/environments/{prod.pk}/", {"kind": "non_production"}, format="json")
    assert frozen.status_code == 409 and frozen.json()["code"] == FROZEN
    prod.refresh_from_db()
    assert prod.is_production
    assert api.patch(f"/api/v1/environments/{prod.pk}/", {"name": "production"}, format="json").status_code == 200


def _ran(world, release, environment):
    """A deployment of the release that succeeded in the environment (made before it was governed)."""
    deployment, _ = deployment_create(actor=world.principal(Role.ADMIN), release=release, environment=environment)
    Deployment.objects.filter(pk=deployment.pk).update(state=State.SUCCEEDED, finished_at=timezone.now())
    return Deployment.objects.get(pk=deployment.pk)


def test_rolling_back_a_removed_application_brings_it_back_only_through_approval(world, cluster, release, prod):
    from apps.deployments.services import application_remove, deployment_cancel, deployment_restart, deployment_rollback

    _ran(world, release, prod)
    second = _ran(world, make_release(release.application, image="registry.example/web:2.0"), prod)
    govern(world, prod, ADMINS)
    restart = deployment_restart(actor=world.principal(Role.ADMIN), deployment=second, justification="Stuck")
    application_remove(
        actor=world.principal(Role.OWNER), application=release.application, environment=prod, approved=True
    )
    closed = ChangeRequest.objects.get(pk=restart.change_request.pk)  # of something that no longer runs
    assert closed.state == RequestState.CANCELLED and closed.outcome == "Removed: web no longer runs in prod"

    admin = world.principal(Role.ADMIN)
    back = deployment_rollback(actor=admin, deployment=Deployment.objects.get(pk=second.pk), reason="bring it back")
    assert back.state == State.PENDING_APPROVAL, back.state
    assert ChangeRequest.objects.get(deployment=back, kind=ChangeKind.DEPLOY).is_open
    deployment_cancel(actor=admin, deployment=back, reason="not now")
    # Nor by rolling back a deploy that waits for approval: that withdraws it and asks again.
    waiting, _ = request_deploy(world, make_release(release.application, image="web:3"), prod, role=Role.DEVELOPER)
    again = deployment_rollback(actor=admin, deployment=waiting, reason="the one before")
    assert again.state == State.PENDING_APPROVAL, again.state
    assert not ChangeRequest.objects.filter(kind=ChangeKind.REVIEW).exists(), "nothing was made past approval"


def test_rolling_back_a_deployment_that_waits_for_approval_withdraws_its_request(world, cluster, release, prod):
    from apps.deployments.services import deployment_rollback

    _ran(world, release, prod)
    govern(world, prod, ADMINS)
    newer = make_release(release.application, image="registry.example/web:2.0")
    waiting, request = request_deploy(world, newer, prod, role=Role.DEVELOPER)
    deployment_rollback(actor=world.principal(Role.ADMIN), deployment=waiting, reason="wrong build")
    assert Deployment.objects.get(pk=waiting.pk).state == State.CANCELLED
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED and "wrong build" in request.outcome


def test_a_deployment_let_through_before_a_freeze_does_not_start_in_it(world, cluster, release, prod):
    """Approved, or queued, before a freeze began, a deployment that waited for its turn (or for the
    worker) is not started inside the freeze; a restorative rollback asked for in the freeze is."""
    from apps.deployments import pipeline
    from apps.deployments.services import deployment_rollback

    _ran(world, release, prod)
    api = make_app(world.acme, "api")
    _ran(world, make_release(api), prod)
    newest = _ran(world, make_release(api, image="api:2"), prod)
    waiting, _ = deployment_create(
        actor=world.principal(Role.ADMIN), release=make_release(release.application, image="web:2"), environment=prod
    )
    assert waiting.state == State.QUEUED and not waiting.past_freezes
    now = timezone.now()
    freeze_window_create(
        actor=world.principal(Role.OWNER),
        tenant=world.acme,
        name="Black Friday",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    assert pipeline.apply_step(deployment_id=waiting.pk, attempt=waiting.attempts) is False
    waiting.refresh_from_db()
    assert waiting.state == State.CANCELLED and waiting.outcome.startswith("Not started: Changes to prod are frozen")
    assert "Black Friday" in waiting.outcome
    assert cluster.get("apps/v1", "Deployment", "web", prod.namespace) is None, "nothing was applied"

    back = deployment_rollback(actor=world.principal(Role.ADMIN), deployment=newest, reason="Put the good one back")
    assert back.past_freezes and back.state == State.QUEUED
    assert pipeline.apply_step(deployment_id=back.pk, attempt=back.attempts) is True
    assert cluster.get("apps/v1", "Deployment", "api", prod.namespace) is not None


def _governed_scales(world, cluster, release, prod, *counts):
    """A running deployment in governed prod and an approved request to scale it to each count, none of
    them carried out yet (the task that carries them out runs after commit, which these tests hold)."""
    from apps.deployments.services import deployment_scale

    add_member(world, Role.ADMIN, "admin2")
    deployment = _ran(world, release, prod)
    cluster.apply([obj for obj in render(release, prod) if obj["kind"] == "Deployment"])
    govern(world, prod, ADMINS)
    requests = []
    for count in counts:
        asked = deployment_scale(
            actor=world.principal(Role.ADMIN), deployment=deployment, replicas=count, justification="Load"
        )
        decide(world, "admin2", asked.change_request)
        requests.append(ChangeRequest.objects.get(pk=asked.change_request.pk))
    assert all(r.state == RequestState.APPROVED and r.executed_at is None for r in requests)
    return requests


def test_of_two_approved_scales_the_one_whose_state_moved_is_not_carried_out(world, cluster, release, prod):
    from apps.approvals.services.requests import EXECUTED, change_request_execute

    to_three, to_four = _governed_scales(world, cluster, release, prod, 3, 4)
    for request in (to_three, to_four):
        change_request_execute(change_request=request)
        request.refresh_from_db()
    assert to_three.outcome == EXECUTED
    assert to_four.outcome.startswith("Approved, but not carried out: it changed after it was approved")
    assert "3 → 4 replicas" in to_four.outcome, to_four.outcome
    assert cluster.get("apps/v1", "Deployment", "web", prod.namespace)["spec"]["replicas"] == 3


def test_an_approved_scale_the_cluster_does_not_take_says_it_waits_for_the_cluster(
    world, cluster, release, prod, sandbox
):
    from apps.approvals.services.requests import WAITS_FOR_CLUSTER, change_request_execute

    (request,) = _governed_scales(world, cluster, release, prod, 3)
    sandbox.inject_faults(error_rate=1.0)
    try:
        change_request_execute(change_request=request)
    finally:
        sandbox.clear_faults()
    request.refresh_from_db()
    assert request.outcome == WAITS_FOR_CLUSTER and request.executed_at is not None


def test_an_approved_change_whose_carrying_out_never_reported_is_said_unfinished(world, cluster, release, prod):
    from apps.approvals.services.requests import UNFINISHED, change_request_execute, change_requests_unfinished

    (request,) = _governed_scales(world, cluster, release, prod, 3)
    assert change_requests_unfinished() == 0  # just approved: its task may be on its way
    ChangeRequest.objects.filter(pk=request.pk).update(decided_at=timezone.now() - timedelta(minutes=11))
    assert change_requests_unfinished() == 1
    request.refresh_from_db()
    assert request.outcome == UNFINISHED and request.executed_at is not None
    change_request_execute(change_request=request)  # a task that turns up late does not make it after all
    assert cluster.get("apps/v1", "Deployment", "web", prod.namespace)["spec"]["replicas"] == 2


def test_what_waits_for_approval_on_a_release_that_is_replaced_is_withdrawn(world, cluster, release, prod):
    from apps.deployments.services import deployment_restart, deployment_transition

    add_member(world, Role.ADMIN, "admin2")
    running = _ran(world, release, prod)
    govern(world, prod, ADMINS)
    restart = deployment_restart(actor=world.principal(Role.ADMIN), deployment=running, justification="Stuck")
    newer, request = request_deploy(world, make_release(release.application, image="web:2"), prod)
    decide(world, "admin2", request)
    for state in (State.APPLYING, State.PROGRESSING):
        deployment_transition(deployment=newer, to_state=state)
    assert ChangeRequest.objects.get(pk=restart.change_request.pk).is_open  # still what runs until it succeeds
    deployment_transition(deployment=newer, to_state=State.SUCCEEDED)
    closed = ChangeRequest.objects.get(pk=restart.change_request.pk)
    assert closed.state == RequestState.CANCELLED
    assert closed.outcome == f"Superseded: deployment {newer.pk} runs release #2 now"


def test_a_restart_asked_again_after_the_waiting_one_ran_out_of_time_is_a_new_request(world, cluster, release, prod):
    from apps.deployments.services import deployment_restart

    running = _ran(world, release, prod)
    govern(world, prod, ADMINS)

    def restart(role):  # the request the restart waits for
        return deployment_restart(actor=world.principal(role), deployment=running, justification="Stuck").change_request

    first = restart(Role.ADMIN)
    assert restart(Role.OWNER).pk == first.pk
    ChangeRequest.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    later = restart(Role.OWNER)
    assert later.pk != first.pk and later.is_open
