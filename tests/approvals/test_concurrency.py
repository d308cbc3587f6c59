"""Deciding at the same moment: two approvers on the last stage queue the deployment once, and a
double-submitted approval counts once. Real threads, real PostgreSQL row locks."""

import threading

import pytest
from django.db import connection

from apps.approvals.choices import ChangeKind, RequestState
from apps.approvals.models import ChangeRequest, Decision
from apps.approvals.services.requests import change_request_decide
from apps.core.errors import ApplicationError
from apps.deployments.choices import State
from apps.deployments.models import Deployment
from apps.deployments.services import deployment_create
from apps.tenants.principals import Principal
from apps.tenants.roles import Role

from .conftest import add_member, govern

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls):
    """Run the calls in threads released together; each result is the return value or the ApplicationError."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except ApplicationError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def waiting_deploy(world, release, prod):
    deployment, _ = deployment_create(
        actor=world.principal(Role.ADMIN),
        release=release,
        environment=prod,
        justification="Release the new pricing page",
    )
    return deployment, ChangeRequest.objects.get(deployment=deployment, kind=ChangeKind.DEPLOY)


def approve(user, request):
    return lambda: change_request_decide(actor=Principal(user), change_request=request, verdict="approve")


def test_two_approvers_on_the_last_stage_queue_the_deployment_once(world, cluster, release, prod):
    admin2 = add_member(world, Role.ADMIN, "admin2")
    govern(world, prod, ("Admins", 1, (Role.ADMIN, Role.OWNER), ()))
    deployment, request = waiting_deploy(world, release, prod)
    results = at_once(approve(admin2, request), approve(world.user(Role.OWNER), request))
    assert sum(isinstance(result, ApplicationError) for result in results) == 1
    refusal = next(result for result in results if isinstance(result, ApplicationError))
    assert refusal.code == "request_closed"
    deployment.refresh_from_db()
    assert deployment.state != State.PENDING_APPROVAL
    assert deployment.events.filter(state=State.QUEUED).count() == 1
    assert Deployment.objects.filter(application=deployment.application).count() == 1
    assert ChangeRequest.objects.get(pk=request.pk).state == RequestState.APPROVED
    assert Decision.objects.filter(change_request=request).count() == 1


def test_a_double_submitted_approval_counts_once(world, cluster, release, prod):
    admin2 = add_member(world, Role.ADMIN, "admin2")
    govern(world, prod, ("Admin and owner", 2, (Role.ADMIN, Role.OWNER), ()))
    deployment, request = waiting_deploy(world, release, prod)
    results = at_once(approve(admin2, request), approve(admin2, request))
    assert [getattr(result, "code", "ok") for result in results].count("already_decided") == 1
    assert Decision.objects.filter(change_request=request, approver=admin2).count() == 1
    request.refresh_from_db()
    assert request.state == RequestState.PENDING
    assert Deployment.objects.get(pk=deployment.pk).state == State.PENDING_APPROVAL


def test_the_same_operation_asked_for_at_once_waits_in_one_request(world, cluster, release, prod):
    from apps.deployments.manifests import render
    from apps.deployments.services import deployment_restart, deployment_scale

    deployment, _ = deployment_create(actor=world.principal(Role.ADMIN), release=release, environment=prod)
    Deployment.objects.filter(pk=deployment.pk).update(state=State.SUCCEEDED)
    cluster.apply([obj for obj in render(release, prod) if obj["kind"] == "Deployment"])
    govern(world, prod, ("Admins", 1, (Role.ADMIN, Role.OWNER), ()))
    admin2 = Principal(add_member(world, Role.ADMIN, "admin2"))

    def restart(actor):
        return lambda: deployment_restart(
            actor=actor, deployment=Deployment.objects.get(pk=deployment.pk), justification="Stuck connections"
        )

    def scale(actor, replicas):
        return lambda: deployment_scale(
            actor=actor, deployment=Deployment.objects.get(pk=deployment.pk), replicas=replicas, justification="Load"
        )

    owner = world.principal(Role.OWNER)
    restarts = at_once(restart(owner), restart(admin2), restart(owner), restart(admin2))
    requests = ChangeRequest.objects.filter(kind=ChangeKind.RESTART)
    assert requests.count() == 1, [str(result) for result in results_of(restarts)]
    assert {result.change_request.pk for result in restarts} == {requests.get().pk}

    scales = at_once(scale(owner, 3), scale(admin2, 3), scale(owner, 4))
    requests = ChangeRequest.objects.filter(kind=ChangeKind.SCALE)
    assert sorted(r.params["replicas"] for r in requests) == [3, 4], [str(result) for result in results_of(scales)]
    assert len({result.change_request.pk for result in scales}) == 2
    # Once decided, the next ask is a new request.
    request = requests.get(params__replicas=4)
    change_request_decide(actor=Principal(world.user(Role.ADMIN)), change_request=request, verdict="approve")
    again = scale(admin2, 4)()
    assert again.change_request.pk != request.pk and again.change_request.is_open


def results_of(results):
    return [getattr(result, "code", result) for result in results]


def test_scales_at_once_leave_the_formation_and_the_cluster_agreeing(world, cluster, release):
    """Ungoverned scales to different counts at the same moment: whichever is made last, the count the
    portal keeps for the workload (its formation) is the count the cluster runs, so no drift is left."""
    from apps.deployments.manifests import render
    from apps.deployments.models import Formation
    from apps.deployments.services import deployment_scale

    dev = world.acme.environments.get(name="dev")
    deployment, _ = deployment_create(actor=world.principal(Role.ADMIN), release=release, environment=dev)
    Deployment.objects.filter(pk=deployment.pk).update(state=State.SUCCEEDED)
    cluster.apply([obj for obj in render(release, dev) if obj["kind"] == "Deployment"])

    def scale(replicas):
        return lambda: deployment_scale(
            actor=world.principal(Role.ADMIN), deployment=Deployment.objects.get(pk=deployment.pk), replicas=replicas
        )

    for _ in range(3):
        results = at_once(*(scale(count) for count in range(1, 9)))
        assert not [r for r in results if isinstance(r, ApplicationError)], results_of(results)
        live = cluster.get("apps/v1", "Deployment", "web", dev.namespace)["spec"]["replicas"]
        assert Formation.objects.get(application=release.application, environment=dev).replicas == live


def test_two_approved_scales_carried_out_at_once_make_one(world, cluster, release, prod):
    """Each was approved against two replicas; carried out at the same moment, the first made moves the
    state the second was approved against, so the second is not made, and says so."""
    from apps.approvals.services.requests import EXECUTED, change_request_execute
    from apps.deployments.manifests import render
    from apps.deployments.services import deployment_scale

    deployment, _ = deployment_create(actor=world.principal(Role.ADMIN), release=release, environment=prod)
    Deployment.objects.filter(pk=deployment.pk).update(state=State.SUCCEEDED)
    cluster.apply([obj for obj in render(release, prod) if obj["kind"] == "Deployment"])
    govern(world, prod, ("Admins", 1, (Role.ADMIN, Role.OWNER), ()))
    admin2 = add_member(world, Role.ADMIN, "admin2")
    requests = []
    for count in (3, 4):
        asked = deployment_scale(
            actor=world.principal(Role.ADMIN),
            deployment=Deployment.objects.get(pk=deployment.pk),
            replicas=count,
            justification="Load",
        )
        approve(admin2, asked.change_request)()
        requests.append(ChangeRequest.objects.get(pk=asked.change_request.pk))
    assert all(r.state == "approved" and r.executed_at is None for r in requests)  # no worker carries them out here

    at_once(*(lambda request=request: change_request_execute(change_request=request) for request in requests))
    outcomes = sorted(ChangeRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list("outcome", flat=True))
    assert outcomes[0] == EXECUTED, outcomes
    assert outcomes[1].startswith("Approved, but not carried out: it changed after it was approved"), outcomes
    made = 3 if ChangeRequest.objects.get(pk=requests[0].pk).outcome == EXECUTED else 4
    assert cluster.get("apps/v1", "Deployment", "web", prod.namespace)["spec"]["replicas"] == made
