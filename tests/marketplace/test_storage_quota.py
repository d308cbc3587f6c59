"""Add-on storage counts against a quota: each instance takes its plan's `storage` (MiB) from the
moment it is asked for; the tenant's usage report and the quotas page show it; asking past the tenant's
or the environment's limit is refused, naming the quota; removing an instance frees its storage."""

import pytest
from django.urls import reverse

from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.tenants.models import Quota

from .conftest import provision

pytestmark = pytest.mark.django_db
INSTANCES = reverse("serviceinstance-list")


@pytest.fixture
def sized(world, postgres):
    """The PostgreSQL offering with a 512 MiB plan and a plan that states no storage."""
    services.plan_publish(
        operator=world.operator_principal,
        offering=postgres,
        slug="m",
        name="Medium",
        limits={"storage": 512},
        position=2,
    )
    return postgres


def storage_usage(api, world):
    rows = api.as_user(world.user("viewer")).get("/api/v1/tenants/acme/usage/").json()
    return [row for row in rows if row["resource"] == "addon_storage"]


def test_storage_is_refused_past_the_tenants_quota_and_freed_by_removal(world, api, client, cluster, sized):
    Quota.objects.create(tenant=world.acme, resource=Quota.Resource.ADDON_STORAGE, limit=1000)
    api.as_user(world.user("developer"))
    payload = {"tenant": "acme", "environment": "dev", "offering": "postgresql", "plan": "m", "name": "one"}
    made = api.post(INSTANCES, payload, format="json")
    assert made.status_code == 202 and made.json()["storage_mb"] == 512

    refused = api.post(INSTANCES, {**payload, "name": "two", "environment": "staging"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "quota_exceeded"
    assert refused.json()["detail"] == (
        "The Add-on storage (MiB) quota of tenant acme is 1000; 512 in use, so 512 more would exceed it."
    )
    # a plan that sets no storage aside is not held back by it
    assert api.post(INSTANCES, {**payload, "name": "two", "plan": "small"}, format="json").status_code == 202

    [row] = storage_usage(api, world)
    assert (row["used"], row["limit"], row["remaining"]) == (512, 1000, 488)
    client.force_login(world.user("viewer"))
    page = client.get(reverse("tenants:quotas", kwargs={"tenant_slug": "acme"})).content.decode()
    assert "Add-on storage (MiB)" in page and "512" in page

    one = type(sized.instances.first()).objects.get(name="one")
    services.instance_provision_run(instance_id=one.pk)
    services.instance_deprovision(actor=world.principal("developer"), instance=one)
    services.instance_deprovision_run(instance_id=one.pk)
    assert storage_usage(api, world)[0]["used"] == 0
    api.as_user(world.user("developer"))
    assert api.post(INSTANCES, {**payload, "name": "three"}, format="json").status_code == 202


def test_an_environments_storage_quota_holds_for_that_environment_only(world, cluster, sized):
    dev = world.acme.environments.get(name="dev")
    Quota.objects.create(tenant=world.acme, environment=dev, resource=Quota.Resource.ADDON_STORAGE, limit=600)
    provision(world, sized, name="a", plan=sized.plans.get(slug="m"))
    with pytest.raises(ApplicationError) as refused:
        provision(world, sized, name="b", plan=sized.plans.get(slug="m"))
    assert refused.value.code == "quota_exceeded" and "environment dev is 600" in refused.value.message
    provision(world, sized, name="b", environment="staging", plan=sized.plans.get(slug="m"))


def test_a_plans_storage_must_be_a_whole_number_of_mib(world, postgres):
    for wrong in ("1Gi", 0, -5, 1.5, True):
        with pytest.raises(ApplicationError) as refused:
            services.plan_publish(
                operator=world.operator_principal, offering=postgres, slug="x", name="X", limits={"storage": wrong}
            )
        assert refused.value.field == "limits" and "MiB" in refused.value.message
