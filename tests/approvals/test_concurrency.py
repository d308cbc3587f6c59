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
