"""Work cut off half-way is finished by running it again, and leaves nothing behind.

A worker that dies during a provider's operation leaves the row where it was (its transaction rolls
back) and whatever the provider had made so far. Celery redelivers the task (acks_late) or the
sweeper nudges it, and the task runs the operation again from the start. These tests stand for the
dead worker by running only the first steps of an operation against the real servers, then run the
task's work and check that it finishes, and that removal leaves no role, database, user or key of
the instance on the server.
"""

from datetime import timedelta

import psycopg
import pytest
import redis
from django.utils import timezone

from apps.marketplace import services
from apps.marketplace.models import BindingState, InstanceState, ServiceBinding, ServiceInstance
from apps.marketplace.providers import provider_for
from apps.marketplace.providers.base import short_uid
from apps.marketplace.providers.redis import prefix_of
from apps.tenants.principals import as_principal
from tests.deployments.conftest import make_app

from .conftest import bind, needs_redis7, provision
from .test_postgres import admin

pytestmark = pytest.mark.django_db


def left_on_postgres(pg_server, instance) -> list[str]:
    """Every role and database of the instance on the server (their names carry its uid)."""
    pattern = f"addon\\_{short_uid(instance)}%"
    with admin(pg_server) as conn:
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [pattern]).fetchall()
        databases = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern]).fetchall()
    return sorted(f"role {name}" for (name,) in roles) + sorted(f"database {name}" for (name,) in databases)


def asked(world, offering, name):
    """An instance asked for and not provisioned yet: the row a provisioning task picks up."""
    instance = services.instance_create(
        actor=as_principal(world.user("developer")),
        tenant=world.acme,
        environment=world.acme.environments.get(name="dev"),
        offering=offering,
        plan=offering.plans.order_by("position").first(),
        name=name,
    )
    return ServiceInstance.objects.select_related("offering__server", "plan").get(pk=instance.pk)


def remove(world, instance):
    services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    assert not ServiceInstance.objects.filter(pk=instance.pk).exists()


def test_provisioning_cut_off_after_any_step_is_finished_by_running_it_again(world, cluster, postgres, pg_server):
    steps = provider_for(postgres).provision_steps(asked(world, postgres, "probe"))
    assert [step.name for step in steps][:2] == ["create the owner role", "create the database"]
    for done in range(1, len(steps)):
        instance = asked(world, postgres, f"cut-{done}")
        for step in provider_for(postgres).provision_steps(instance)[:done]:
            step.run()  # ... and the worker dies here
        assert left_on_postgres(pg_server, instance), "the first steps made something"

        services.instance_provision_run(instance_id=instance.pk)  # the task, delivered again
        instance.refresh_from_db()
        assert instance.state == InstanceState.READY, instance.last_operation
        binding, variables = bind(world, instance, f"app-{done}")
        with psycopg.connect(variables["DATABASE_URL"]) as conn:  # the database works, and is closed to others
            conn.execute("CREATE TABLE t (id int)")
            assert conn.execute(
                "SELECT has_database_privilege('public', current_database(), 'CONNECT')"
            ).fetchone() == (False,)
        services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)
        remove(world, instance)
        assert left_on_postgres(pg_server, instance) == []


def test_a_role_of_that_name_that_is_not_the_instances_is_never_adopted(world, cluster, postgres, pg_server):
    instance = asked(world, postgres, "squatted")
    owner = f"addon_{short_uid(instance)}_owner"
    with admin(pg_server) as conn:
        conn.execute(f'CREATE ROLE "{owner}" NOLOGIN')
    services.instance_provision_run(instance_id=instance.pk)
    instance.refresh_from_db()
    assert instance.state == InstanceState.FAILED and "already exists" in instance.last_operation
    assert left_on_postgres(pg_server, instance) == [f"role {owner}"]  # the stranger's role is kept, nothing added
    with admin(pg_server) as conn:
        conn.execute(f'DROP ROLE "{owner}"')


def test_removal_cut_off_after_any_step_is_finished_by_running_it_again(world, cluster, postgres, pg_server):
    count = len(provider_for(postgres).deprovision_steps(provision(world, postgres, name="probe")))
    for done in range(1, count):
        instance = provision(world, postgres, name=f"gone-{done}")
        binding, _ = bind(world, instance, f"app-{done}")
        services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)
        services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
        for step in provider_for(postgres).deprovision_steps(instance)[:done]:
            step.run()  # ... and the worker dies here
        services.instance_deprovision_run(instance_id=instance.pk)  # delivered again (or nudged by the sweeper)
        assert not ServiceInstance.objects.filter(pk=instance.pk).exists()
        assert left_on_postgres(pg_server, instance) == []


def test_unbinding_cut_off_after_any_step_is_finished_by_unbinding_again(world, cluster, postgres, pg_server):
    instance = provision(world, postgres)
    binding, _ = bind(world, instance, "probe")
    count = len(provider_for(postgres).unbind_steps(binding))
    services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)
    for done in range(1, count):
        binding, variables = bind(world, instance, f"app-{done}")
        session = psycopg.connect(variables["DATABASE_URL"], autocommit=True)
        session.execute(f"CREATE TABLE made_by_{done} (id int)")  # something the role owns, handed over on unbind
        for step in provider_for(postgres).unbind_steps(binding)[:done]:
            step.run()  # ... and the request dies here: the row still says ready
        assert ServiceBinding.objects.get(pk=binding.pk).state == BindingState.READY

        services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)  # asked again
        assert not ServiceBinding.objects.filter(pk=binding.pk).exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(variables["DATABASE_URL"])
        assert f"role {binding.username}" not in left_on_postgres(pg_server, instance)
    remove(world, instance)
    assert left_on_postgres(pg_server, instance) == []


def stale(binding):
    ServiceBinding.objects.filter(pk=binding.pk).update(updated_at=timezone.now() - timedelta(minutes=5))


def test_a_bind_whose_request_died_after_the_provider_made_the_role_is_revoked(world, cluster, postgres, pg_server):
    instance = provision(world, postgres)
    provider = provider_for(postgres)
    # binding_create up to the provider: the row, with the credential's name, is committed first ...
    binding = ServiceBinding.objects.create(
        tenant=world.acme, instance=instance, application=make_app(world.acme, "web"), state=BindingState.BINDING
    )
    binding.username = provider.credential_name(binding)
    binding.save()
    url = provider.bind(binding)["url"]  # ... the provider makes the role, and the request dies here
    psycopg.connect(url).close()

    assert services.bindings_sweep() == 0  # a bind in its request is not touched
    stale(binding)
    assert services.bindings_sweep() == 1
    services.binding_poll_run(binding_id=binding.pk)  # what the sweeper's nudge runs
    assert not ServiceBinding.objects.filter(pk=binding.pk).exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url)
    remove(world, instance)
    assert left_on_postgres(pg_server, instance) == []


def test_a_rotation_cut_off_after_the_provider_made_the_new_role_is_revoked(world, cluster, postgres, pg_server):
    instance = provision(world, postgres)
    binding, old = bind(world, instance)
    provider = provider_for(postgres)
    binding.pending_username = provider.credential_name(binding)  # binding_rotate names it first ...
    binding.save()
    pending = services._as_user(binding, binding.pending_username)
    new_url = provider.bind(pending)["url"]  # ... and dies once the provider made it

    stale(binding)
    assert services.bindings_sweep() == 1
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(new_url)
    psycopg.connect(old["DATABASE_URL"]).close()  # the binding's own credential is untouched
    binding.refresh_from_db()
    assert binding.pending_username == "" and binding.state == BindingState.READY
    rotated, _ = services.binding_rotate(actor=as_principal(world.user("developer")), binding=binding)
    assert rotated.retiring_username == binding.username  # and it rotates as usual afterwards


@needs_redis7
def test_redis_a_dead_bind_is_revoked_and_removal_leaves_no_user_or_key(world, cluster, redis_offering, redis_server):
    instance = provision(world, redis_offering)
    _, variables = bind(world, instance, "web")
    with redis.Redis.from_url(variables["REDIS_URL"]) as client:
        client.set(f"{variables['REDIS_KEY_PREFIX']}k", "v")
    provider = provider_for(redis_offering)
    binding = ServiceBinding.objects.create(
        tenant=world.acme, instance=instance, application=make_app(world.acme, "worker"), state=BindingState.BINDING
    )
    binding.username = provider.credential_name(binding)
    binding.save()
    provider.bind(binding)
    provider.bind(binding)  # setting the same user twice is the same user: a re-run is harmless
    stale(binding)
    assert services.bindings_sweep() == 1
    services.binding_poll_run(binding_id=binding.pk)
    with redis.Redis.from_url(redis_server) as server:
        users = [user.decode() for user in server.execute_command("ACL", "USERS")]
        assert binding.username not in users

    for web in ServiceBinding.objects.filter(instance=instance):
        services.binding_delete(actor=as_principal(world.user("developer")), binding=web)
    with redis.Redis.from_url(redis_server) as server:  # a user an interrupted bind left, unknown to any row
        server.execute_command("ACL", "SETUSER", f"{prefix_of(instance)}-leftover", "on", ">pw")
    services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
    provider.deprovision_steps(instance)[0].run()  # the keys went, then the worker died
    services.instance_deprovision_run(instance_id=instance.pk)
    with redis.Redis.from_url(redis_server) as server:
        users = [user.decode() for user in server.execute_command("ACL", "USERS")]
        assert not [user for user in users if user.startswith(prefix_of(instance))]
        assert not list(server.scan_iter(match=f"{prefix_of(instance)}:*"))
