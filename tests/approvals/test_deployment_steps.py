"""The deployment page's steps for a deployment that waits for approval: waiting is its own step, not
a failure, and once approved the deployment moves on from it."""

import re

import pytest

from apps.approvals.services.requests import change_request_withdraw
from apps.deployments.models import Deployment
from apps.tenants.roles import Role

from .test_pages import governed, requested  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def steps(client, deployment_id) -> list[tuple[str, str]]:
    html = client.get(f"/t/acme/deployments/{deployment_id}/").content.decode()
    return re.findall(r'data-step="(\w+)" data-status="(\w+)"', html)


def test_a_deployment_waiting_for_approval_shows_waiting_as_its_own_step(world, client, requested):  # noqa: F811
    client.force_login(world.user(Role.DEVELOPER))
    html = client.get(f"/t/acme/deployments/{requested.deployment_id}/").content.decode()
    assert steps(client, requested.deployment_id) == [
        ("pending_approval", "waiting"),
        ("queued", "todo"),
        ("applying", "todo"),
        ("progressing", "todo"),
        ("succeeded", "todo"),
    ]
    assert "Waiting for approval" in html and "bi-x-circle-fill" not in html


def test_a_withdrawn_request_marks_the_approval_step_not_the_last(world, client, requested):  # noqa: F811
    change_request_withdraw(actor=world.principal(Role.DEVELOPER), change_request=requested, reason="wrong build")
    assert Deployment.objects.get().state == "cancelled"
    client.force_login(world.user(Role.DEVELOPER))
    assert steps(client, requested.deployment_id)[:2] == [("pending_approval", "failed"), ("queued", "todo")]
