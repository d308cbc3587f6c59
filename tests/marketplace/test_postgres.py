"""PostgreSQL add-ons against a real server that asks for passwords: provision, bind, the Secret's URL
works with a real client, unbind refuses the same credentials, deprovision drops the database."""

import base64

import psycopg
import pytest

from apps.clusters.services import kube_of
from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.marketplace.models import InstanceState, ServiceBinding
from apps.marketplace.providers.postgres import database_name, owner_name
from apps.tenants.principals import as_principal

from .conftest import bind, provision

pytestmark = pytest.mark.django_db


def admin(pg_server):
    return psycopg.connect(pg_server, autocommit=True)


def exists(pg_server, query, *args):
    with admin(pg_server) as conn:
        return conn.execute(query, args).fetchone() is not None


def secret_data(environment, name):
    with kube_of(environment) as kube:
        secret = kube.get("v1", "Secret", name, environment.namespace)
    return None if secret is None else {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_provision_bind_connect_unbind_refused_deprovision_gone(world, cluster, postgres, pg_server):
    instance = provision(world, postgres)
    assert instance.state == InstanceState.READY
    assert exists(pg_server, "SELECT 1 FROM pg_database WHERE datname = %s", database_name(instance))

    binding, variables = bind(world, instance)
    url = secret_data(instance.environment, "web-addons")["DATABASE_URL"]
    assert url == variables["DATABASE_URL"] and binding.username in url
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
        conn.commit()
    survivor = psycopg.connect(url, autocommit=True)

    services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed|does not exist"):
        psycopg.connect(url)
    with pytest.raises(psycopg.OperationalError):  # its open session was ended too
        survivor.execute("SELECT 1")
    assert not exists(pg_server, "SELECT 1 FROM pg_roles WHERE rolname = %s", binding.username)
    assert secret_data(instance.environment, "web-addons") is None
    # The table the binding made belongs to the instance and outlives the binding.
    second, variables = bind(world, instance)
    with psycopg.connect(variables["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT body FROM notes").fetchone() == ("kept",)
    services.binding_delete(actor=as_principal(world.user("developer")), binding=second)

    services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    assert not exists(pg_server, "SELECT 1 FROM pg_database WHERE datname = %s", database_name(instance))
    assert not exists(pg_server, "SELECT 1 FROM pg_roles WHERE rolname = %s", owner_name(instance))
    assert not type(instance).objects.filter(pk=instance.pk).exists()


def test_two_bindings_have_their_own_credentials_and_reach_only_their_database(world, cluster, postgres, pg_server):
    shop = provision(world, postgres, name="shop")
    web, web_vars = bind(world, shop, "web")
    worker, worker_vars = bind(world, shop, "worker")
    assert web.username != worker.username and web_vars["DATABASE_URL"] != worker_vars["DATABASE_URL"]
    for url in (web_vars["DATABASE_URL"], worker_vars["DATABASE_URL"]):
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (database_name(shop),)

    other = provision(world, postgres, name="ledger", tenant="globex")
    _, foreign = bind(world, other, "billing")
    foreign_url = foreign["DATABASE_URL"]
    # globex's credentials against acme's database: no connect privilege.
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(foreign_url.rsplit("/", 1)[0] + "/" + database_name(shop))
    # and acme's credentials against globex's database, likewise.
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(web_vars["DATABASE_URL"].rsplit("/", 1)[0] + "/" + database_name(other))


def test_readonly_plan_reads_but_cannot_write(world, cluster, postgres):
    instance = provision(world, postgres, plan=postgres.plans.get(slug="reader"))
    _, variables = bind(world, instance, "web")
    with psycopg.connect(variables["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE t (id int)")


def test_a_second_postgres_binding_of_one_application_gets_prefixed_variables(world, cluster, postgres):
    first = provision(world, postgres, name="main")
    second = provision(world, postgres, name="audit-log")
    _, one = bind(world, first, "web")
    _, two = bind(world, second, "web")
    assert set(one) == {"DATABASE_URL"} and set(two) == {"AUDIT_LOG_DATABASE_URL"}
    assert set(secret_data(first.environment, "web-addons")) == {"DATABASE_URL", "AUDIT_LOG_DATABASE_URL"}


def test_a_failed_provision_leaves_no_role_behind_and_keeps_what_was_there(world, cluster, postgres, pg_server):
    instance = services.instance_create(
        actor=as_principal(world.user("developer")),
        tenant=world.acme,
        environment=world.acme.environments.get(name="dev"),
        offering=postgres,
        plan=postgres.plans.first(),
        name="clash",
    )
    with admin(pg_server) as conn:  # something already holds the database's name
        conn.execute(f'CREATE DATABASE "{database_name(instance)}"')
    services.instance_provision_run(instance_id=instance.pk)
    instance.refresh_from_db()
    assert instance.state == InstanceState.FAILED
    assert "already exists" in instance.last_operation
    assert not exists(pg_server, "SELECT 1 FROM pg_roles WHERE rolname = %s", owner_name(instance))
    assert exists(pg_server, "SELECT 1 FROM pg_database WHERE datname = %s", database_name(instance))
    with admin(pg_server) as conn:
        conn.execute(f'DROP DATABASE "{database_name(instance)}"')


def test_a_provider_that_is_down_fails_the_instance_with_its_reason(world, cluster, postgres):
    server = postgres.server
    server.admin_url = "postgresql://postgres:x@127.0.0.1:1/postgres"
    server.save()
    instance = provision(world, postgres)
    assert instance.state == InstanceState.FAILED
    assert "does not answer" in instance.last_operation


def test_deprovisioning_a_bound_instance_is_refused_naming_the_bindings(world, cluster, postgres):
    instance = provision(world, postgres)
    bind(world, instance, "web")
    bind(world, instance, "worker")
    with pytest.raises(ApplicationError) as refused:
        services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
    assert refused.value.status == 409 and refused.value.code == services.INSTANCE_BOUND
    assert "web, worker" in refused.value.message
    assert ServiceBinding.objects.filter(instance=instance).count() == 2


def test_the_portals_own_database_server_is_never_lent(world, settings):
    db = settings.DATABASES["default"]
    own = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    with pytest.raises(ApplicationError) as refused:
        services.server_register(operator=world.operator_principal, name="mine", kind="postgres", admin_url=own)
    assert refused.value.code == services.PORTAL_SERVER
