"""Redis add-ons against a real Redis 7 with its default user off: each binding is an ACL user confined
to its instance's prefix, denied the commands that reach past it, and gone (with its clients) on unbind."""

import pytest
import redis

from apps.core.errors import ApplicationError
from apps.marketplace import services
from apps.marketplace.models import InstanceState
from apps.marketplace.providers.redis import prefix_of
from apps.tenants.principals import as_principal

from .conftest import bind, needs_redis7, provision

pytestmark = [pytest.mark.django_db, needs_redis7]


def client_of(url):
    return redis.Redis.from_url(url, socket_timeout=5)


def test_a_binding_reaches_its_prefix_only_and_is_refused_after_unbind(world, cluster, redis_offering, redis_server):
    instance = provision(world, redis_offering, name="cache")
    assert instance.state == InstanceState.READY
    binding, variables = bind(world, instance)
    prefix = variables["REDIS_KEY_PREFIX"]
    assert prefix == f"{prefix_of(instance)}:"
    cache = client_of(variables["REDIS_URL"])
    cache.set(f"{prefix}greeting", "hello")
    assert cache.get(f"{prefix}greeting") == b"hello"
    client_of(redis_server).set("portal:other", "secret")
    with pytest.raises(redis.exceptions.NoPermissionError):
        cache.get("portal:other")
    # (DEBUG is denied too, but Redis 7 refuses it to every connection before the ACL is asked.)
    for command in (
        ("KEYS", "*"),
        ("SCAN", "0"),
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("CONFIG", "GET", "*"),
        ("ACL", "LIST"),
        ("MODULE", "LIST"),
        ("RANDOMKEY",),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            cache.execute_command(*command)

    services.binding_delete(actor=as_principal(world.user("developer")), binding=binding)
    with pytest.raises((redis.exceptions.ConnectionError, redis.exceptions.AuthenticationError)):
        cache.get(f"{prefix}greeting")  # its open connection was closed
    with pytest.raises(redis.exceptions.AuthenticationError):
        client_of(variables["REDIS_URL"]).ping()

    services.instance_deprovision(actor=as_principal(world.user("developer")), instance=instance)
    services.instance_deprovision_run(instance_id=instance.pk)
    admin = client_of(redis_server)
    assert admin.get(f"{prefix}greeting") is None and admin.get("portal:other") == b"secret"


def test_another_tenants_binding_cannot_read_this_instances_keys(world, cluster, redis_offering):
    ours = provision(world, redis_offering, name="cache")
    theirs = provision(world, redis_offering, name="cache", tenant="globex")
    _, mine = bind(world, ours, "web")
    _, foreign = bind(world, theirs, "web")
    client_of(mine["REDIS_URL"]).set(f"{mine['REDIS_KEY_PREFIX']}k", "v")
    with pytest.raises(redis.exceptions.NoPermissionError):
        client_of(foreign["REDIS_URL"]).get(f"{mine['REDIS_KEY_PREFIX']}k")
    assert mine["REDIS_URL"] != foreign["REDIS_URL"]


def test_a_redis_with_its_default_user_on_is_refused(world, redis_server):
    admin = client_of(redis_server)
    admin.execute_command("ACL", "SETUSER", "default", "on")
    try:
        with pytest.raises(ApplicationError, match="default"):
            services.server_register(
                operator=world.operator_principal, name="open", kind="redis", admin_url=redis_server
            )
    finally:
        admin.execute_command("ACL", "SETUSER", "default", "off")


def test_the_portals_own_redis_is_never_lent(world, settings):
    with pytest.raises(ApplicationError) as refused:
        services.server_register(
            operator=world.operator_principal, name="mine", kind="redis", admin_url=settings.REDIS_URL
        )
    assert refused.value.code == services.PORTAL_SERVER


def test_over_the_plans_key_limit_writes_are_blocked_until_under_again(world, cluster, redis_offering, client):
    from django.urls import reverse

    plan = services.plan_publish(
        operator=world.operator_principal,
        offering=redis_offering,
        slug="tiny",
        name="Tiny",
        limits={"keys": 2},
        position=1,
    )
    instance = provision(world, redis_offering, name="tiny", plan=plan)
    _, variables = bind(world, instance)
    cache, prefix = client_of(variables["REDIS_URL"]), variables["REDIS_KEY_PREFIX"]
    for n in range(3):
        cache.set(f"{prefix}{n}", n)
    services.instances_sample_usage()
    instance.refresh_from_db()
    assert instance.usage["keys"] == 3 and instance.usage["writes_blocked"]
    with pytest.raises(redis.exceptions.NoPermissionError):
        cache.set(f"{prefix}more", 1)
    assert cache.get(f"{prefix}0") == b"0"  # reads still work
    cache.delete(f"{prefix}0", f"{prefix}1")  # and deleting gets it under
    services.instances_sample_usage()
    cache.set(f"{prefix}again", 1)
    with pytest.raises(redis.exceptions.NoPermissionError):
        cache.execute_command("FLUSHALL")  # unblocking did not hand back the dangerous commands
    client.force_login(world.user("viewer"))
    page = client.get(reverse("marketplace:detail", kwargs={"tenant_slug": "acme", "pk": instance.pk}))
    assert "keys of 2" in page.content.decode()
