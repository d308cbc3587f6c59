"""Real shared servers for add-on tests: a PostgreSQL that asks for SCRAM passwords and a Redis 7 with
its default user off (portal/addon_servers.py), one of each per test session; the sandbox cluster as
the default cluster; and the offerings an operator would publish on them."""

import shutil
import tempfile
from pathlib import Path

import pytest

from apps.clusters.services import cluster_register, environment_provision
from apps.marketplace import services
from apps.marketplace.models import ServiceInstance
from apps.tenants.models import Environment
from apps.tenants.principals import as_principal
from portal.addon_servers import AclRedis, ScramPostgres, redis7_executable
from tests.deployments.conftest import make_app

needs_redis7 = pytest.mark.skipif(redis7_executable() is None, reason="redis-server 7 or later is not installed")


@pytest.fixture(scope="session")
def pg_server():
    # Not under pytest's own temporary root: every pytest run makes that 0700 again, and the server runs
    # as another user when the tests run as root.
    server = ScramPostgres(Path(tempfile.mkdtemp(prefix="addon-postgres-")))
    url = server.start()
    yield url
    server.stop()
    shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    if redis7_executable() is None:
        pytest.skip("redis-server 7 or later is not installed")
    server = AclRedis(Path(tempfile.mkdtemp(prefix="addon-redis-")))
    url = server.start()
    yield url
    server.stop()
    shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture
def cluster(world, sandbox):
    """The sandbox as the default cluster, every namespace provisioned here and now (no worker needed)."""
    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    for environment in Environment.objects.all():
        environment_provision(environment=environment)
    return sandbox


def publish(world, *, server: str, kind: str, admin_url: str, slug: str, name: str, plans: list[dict], **offering):
    """What an operator does to lend a server: register it, publish one offering on it, and publish
    `plans` (plan_publish's keyword arguments) in that order of position."""
    operator = world.operator_principal
    shared = services.server_register(operator=operator, name=server, kind=kind, admin_url=admin_url)
    published = services.offering_publish(operator=operator, slug=slug, name=name, server=shared, **offering)
    for position, plan in enumerate(plans):
        services.plan_publish(operator=operator, offering=published, position=position, **plan)
    return published


@pytest.fixture
def postgres(world, pg_server):
    """A PostgreSQL offering with a readwrite plan (no approval) and a readonly one."""
    return publish(
        world,
        server="pg-shared",
        kind="postgres",
        admin_url=pg_server,
        slug="postgresql",
        name="PostgreSQL",
        plans=[
            {"slug": "small", "name": "Small", "limits": {"access": "readwrite", "connections": 5}},
            {"slug": "reader", "name": "Reader", "limits": {"access": "readonly"}},
        ],
    )


@pytest.fixture
def redis_offering(world, redis_server):
    return publish(
        world,
        server="redis-shared",
        kind="redis",
        admin_url=redis_server,
        slug="redis",
        name="Redis",
        plans=[{"slug": "shared", "name": "Shared", "limits": {"keys": 10000}}],
    )


def provision(world, offering, *, name="db", tenant="acme", environment="dev", plan=None, role="developer"):
    """Ask for an instance as a member and run the provisioning task's work in this process."""
    tenant_row = getattr(world, tenant)
    instance = services.instance_create(
        actor=as_principal(world.user(role, tenant)),
        tenant=tenant_row,
        environment=tenant_row.environments.get(name=environment),
        offering=offering,
        plan=plan or offering.plans.order_by("position").first(),
        name=name,
    )
    services.instance_provision_run(instance_id=instance.pk)
    return ServiceInstance.objects.get(pk=instance.pk)


def bind(world, instance, app_name="web", role="developer"):
    application = make_app(instance.tenant, app_name)
    return services.binding_create(
        actor=as_principal(world.user(role, instance.tenant.slug)), instance=instance, application=application
    )
