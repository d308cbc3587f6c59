"""A governed production environment on the sandbox cluster, and helpers to set its approval policy."""

import pytest

from apps.approvals.services.configuration import approval_policy_save
from apps.clusters.kube import KubeClient
from apps.clusters.services import cluster_register, environment_provision
from apps.tenants.models import Environment, Membership
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def cluster(world, sandbox):
    """The sandbox as the default cluster with every namespace provisioned, done here and now rather than
    by the worker, so tests without one (and inside a test transaction) can use it."""
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    for environment in Environment.objects.all():
        environment_provision(environment=environment)
    return KubeClient(sandbox.api_client())


@pytest.fixture
def prod(world):
    return world.acme.environments.get(name="prod")


@pytest.fixture
def release(world):
    return make_release(make_app(world.acme))


def add_member(world, role: str, name: str):
    user = UserFactory(email=f"{name}@acme.test")
    Membership.objects.create(tenant=world.acme, user=user, role=role)
    world.users[f"acme.{name}"] = user
    return user


def govern(world, environment, *stages, **options):
    """Give the environment a policy; stages as (name, quorum, roles, members)."""
    return approval_policy_save(
        actor=world.principal(Role.OWNER),
        tenant=world.acme,
        environment=environment,
        stages=[
            {"name": name, "quorum": quorum, "roles": list(roles), "members": [m.pk for m in members]}
            for name, quorum, roles, members in stages
        ],
        **options,
    )


def reauthenticate(client):
    """What the browser does at /accounts/reauthenticate/: confirm the password in this session, which
    deciding on a change request by session needs (apps/tenants/stepup.py)."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content
