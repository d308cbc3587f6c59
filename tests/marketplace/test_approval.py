"""A plan marked for approval goes through a change request (the governance gate, as deploys do):
the instance waits, is provisioned once approved, and never reaches the provider when rejected."""

import pytest
from django.urls import reverse

from apps.approvals.models import ChangeRequest
from apps.approvals.services.requests import change_request_decide, change_request_execute
from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.marketplace.models import InstanceState, ServiceInstance
from apps.marketplace.providers.postgres import database_name

from .test_postgres import exists

pytestmark = pytest.mark.django_db
INSTANCES = reverse("serviceinstance-list")


@pytest.fixture
def large(world, postgres):
    return services.plan_publish(
        operator=world.operator_principal,
        offering=postgres,
        slug="large",
        name="Large",
        needs_approval=True,
        position=2,
    )


def ask(api, world, **extra):
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "dev", "offering": "postgresql", "plan": "large", "name": "big"}
    return api.post(INSTANCES, {**payload, **extra}, format="json")


def test_an_approved_plan_is_provisioned_after_approval(world, api, postgres, large, pg_server):
    refused = ask(api, world)
    assert refused.status_code == 400 and refused.json()["code"] == "justification_required"
    waiting = ask(api, world, justification="Reporting needs its own database")
    assert waiting.status_code == 202 and waiting.json()["state"] == "pending_approval"
    request = ChangeRequest.objects.get(kind="addon")
    assert request.params["instance"] == waiting.json()["id"]
    instance = ServiceInstance.objects.get(pk=waiting.json()["id"])
    assert not exists(pg_server, "SELECT 1 FROM pg_database WHERE datname = %s", database_name(instance))

    change_request_decide(actor=world.principal("admin"), change_request=request, verdict="approve")
    change_request_execute(change_request=request)  # what the carry-out task does after commit
    instance.refresh_from_db()
    assert instance.state == InstanceState.PROVISIONING
    services.instance_provision_run(instance_id=instance.pk)
    instance.refresh_from_db()
    assert instance.state == InstanceState.READY
    assert exists(pg_server, "SELECT 1 FROM pg_database WHERE datname = %s", database_name(instance))


def test_a_rejected_plan_never_reaches_the_provider(world, api, postgres, large):
    waiting = ask(api, world, justification="Please")
    request = ChangeRequest.objects.get(kind="addon")
    change_request_decide(actor=world.principal("admin"), change_request=request, verdict="reject", comment="Too big")
    instance = ServiceInstance.objects.get(pk=waiting.json()["id"])
    assert instance.state == InstanceState.FAILED and instance.last_operation.startswith("Not approved")
    with pytest.raises(ApplicationError, match="not approved"):  # an operator's retry cannot get round it
        services.instance_retry(operator=world.operator_principal, instance=instance)


def test_the_first_plan_needs_no_approval(world, api, postgres, large):
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "dev", "offering": "postgresql", "plan": "small", "name": "db"}
    assert api.post(INSTANCES, payload, format="json").json()["state"] == "provisioning"
    assert not ChangeRequest.objects.exists()


def test_any_addon_in_a_governed_environment_waits_for_approval(world, api, postgres):
    from apps.approvals.models import ApprovalRules

    rules = ApprovalRules.current()
    rules.production_requires_approval = True
    rules.save()
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "prod", "offering": "postgresql", "plan": "small", "name": "db"}
    refused = api.post(INSTANCES, payload, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "justification_required"
    waiting = api.post(INSTANCES, {**payload, "justification": "The shop needs it"}, format="json")
    assert waiting.json()["state"] == "pending_approval"
    assert ChangeRequest.objects.get(kind="addon").environment.name == "prod"
