"""Consumer keys and the gateway's check of them, against real PostgreSQL and Redis: what the traffic
controller is told for each key, how limits are counted, and that revocation and route changes reach
a warm cache at once."""

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.apikeys import ratelimit
from apps.audit.models import AuditEvent
from apps.tenants.roles import Role
from apps.traffic import gateway
from apps.traffic.consumer_keys import consumer_key_create, consumer_key_revoke, usage_plan_update
from apps.traffic.models import ConsumerKey, Route
from apps.traffic.services import route_update
from tests.base.cases_traffic import route as make_route
from tests.base.cases_traffic import usage_plan
from tests.conftest import free_port

pytestmark = pytest.mark.django_db
VERIFY = reverse("gateway-verify")


def verify(route, key=None, *, bearer=False, **query):
    headers = {}
    if key is not None:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if bearer else {"HTTP_X_API_KEY": key}
    return APIClient().get(VERIFY, {"route": route.pk if hasattr(route, "pk") else route, **query}, **headers)


def consumer_key(world, tenant="acme", **fields):
    admin = world.principal(Role.ADMIN, tenant)
    return consumer_key_create(actor=admin, tenant=getattr(world, tenant), name="partner-1", **fields)


@pytest.fixture
def protected(world):
    return make_route(world.acme, auth=Route.Auth.API_KEY)


# --- Making keys ----------------------------------------------------------------------------------


def test_a_consumer_key_is_shown_once_with_its_plans_limits_and_stored_as_a_digest(world, api):
    plan = usage_plan(world.acme, name="gold", requests_per_second=50, burst=100, monthly_quota=1_000_000)
    api.as_user(world.user(Role.ADMIN))
    created = api.post(
        reverse("consumerkey-list"), {"tenant": "acme", "name": "partner-1", "usage_plan": "gold"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["key"].startswith(f"ck_{ConsumerKey.objects.get().lookup}_") and body["state"] == "active"
    assert body["limits"] == {
        "name": "gold",
        "requests_per_second": 50,
        "burst": 100,
        "daily_quota": None,
        "monthly_quota": 1_000_000,
    }
    assert body["usage_plan"] == plan.pk and created["Cache-Control"] == "no-store"
    stored = ConsumerKey.objects.get()
    assert body["key"] not in stored.digest and stored.digest != body["key"]
    listed = api.get(reverse("consumerkey-list")).json()["results"]
    assert [row["prefix"] for row in listed] == [stored.prefix] and "key" not in listed[0]
    assert "key" not in api.get(reverse("consumerkey-detail", args=[stored.pk])).json()
    assert AuditEvent.objects.filter(action="consumerkey.create").count() == 1

    default = api.post(reverse("consumerkey-list"), {"tenant": "acme", "name": "anyone"}, format="json").json()
    assert default["usage_plan"] is None and default["limits"]["name"] == gateway.DEFAULT_PLAN


def test_another_tenants_plan_cannot_be_given_to_a_key(world, api):
    usage_plan(world.globex, name="globex-gold")
    api.as_user(world.user(Role.ADMIN))
    refused = api.post(
        reverse("consumerkey-list"), {"tenant": "acme", "name": "partner", "usage_plan": "globex-gold"}, format="json"
    )
    assert refused.status_code == 400 and "usage_plan" in refused.json()["fields"]
    assert not ConsumerKey.objects.exists()


def test_a_plan_with_keys_cannot_be_deleted_and_bad_numbers_name_their_fields(world, api):
    plan = usage_plan(world.acme)
    consumer_key(world, usage_plan=plan)
    api.as_user(world.user(Role.ADMIN))
    assert api.delete(reverse("usageplan-detail", args=[plan.pk])).json()["code"] == "plan_in_use"
    refused = api.post(
        reverse("usageplan-list"),
        {
            "tenant": "acme",
            "name": "default",
            "requests_per_second": 10,
            "burst": 5,
            "daily_quota": 9,
            "monthly_quota": 3,
        },
        format="json",
    )
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"name", "burst", "monthly_quota"}


# --- The check ------------------------------------------------------------------------------------


def test_a_key_of_the_routes_tenant_passes_with_the_consumer_headers(world, protected):
    plan = usage_plan(world.acme, name="silver", requests_per_second=100, burst=100)
    row, key = consumer_key(world, usage_plan=plan)
    for answer in (verify(protected, key), verify(protected, key, bearer=True)):
        assert answer.status_code == 200, answer.content
        assert (answer["X-Consumer-Id"], answer["X-Consumer-Name"], answer["X-Consumer-Plan"]) == (
            str(row.pk),
            "partner-1",
            "silver",
        )
    assert "sessionid" not in verify(protected, key).cookies


def test_without_a_consumer_key_of_the_portals_it_is_401(world, protected):
    _, key = consumer_key(world)
    expired, expired_key = consumer_key(world, expires_in_days=1)
    ConsumerKey.objects.filter(pk=expired.pk).update(expires_at="2020-01-01T00:00:00Z")
    portal_key = world.key(Role.OWNER)  # a portal API key of the same tenant, with every scope
    cases = {
        None: gateway.NO_KEY,
        "": gateway.NO_KEY,
        portal_key: gateway.PORTAL_KEY,
        "not-a-key": gateway.INVALID_KEY,
        key[:-4] + "AAAA": gateway.INVALID_KEY,  # the right lookup with another secret
        expired_key: gateway.KEY_EXPIRED,
    }
    for presented, reason in cases.items():
        answer = verify(protected, presented)
        assert answer.status_code == 401, presented
        assert answer["X-Portal-Reason"] == reason == answer.json()["code"]
    assert verify(protected, portal_key, bearer=True)["X-Portal-Reason"] == gateway.PORTAL_KEY


def test_another_tenants_key_and_an_unprotected_route_are_403(world, protected):
    _, globex_key = consumer_key(world, "globex")
    _, acme_key = consumer_key(world)
    open_route = make_route(world.acme)
    assert verify(protected, globex_key).status_code == 403
    assert verify(protected, globex_key)["X-Portal-Reason"] == gateway.OTHER_TENANT
    for route in (open_route, 999_999, "nope"):
        answer = verify(route, acme_key)
        assert answer.status_code == 403 and answer["X-Portal-Reason"] == gateway.ROUTE_NOT_PROTECTED


def test_a_warm_check_reads_no_database_and_a_revoked_key_is_refused_at_once(
    world, protected, django_capture_on_commit_callbacks
):
    row, key = consumer_key(world)
    assert verify(protected, key).status_code == 200  # fills the cache
    with CaptureQueriesContext(connection) as queries:
        assert verify(protected, key).status_code == 200
    assert len(queries) == 0

    with django_capture_on_commit_callbacks(execute=True):
        consumer_key_revoke(actor=world.principal(Role.ADMIN), consumer_key=row)
    refused = verify(protected, key)
    assert refused.status_code == 401 and refused["X-Portal-Reason"] == gateway.KEY_REVOKED


def test_a_fill_that_read_the_key_before_its_revocation_cannot_bring_it_back(world, protected):
    row, key = consumer_key(world)
    stale = {gateway._key_entry(row.digest): gateway.key_value(row)}  # what a slow check read: active
    row.revoked_at = row.created_at
    gateway._write({gateway._key_entry(row.digest): gateway.key_value(row)}, fill=False)  # the revocation
    gateway._write(stale, fill=True)  # the slow check's fill, after it
    assert verify(protected, key)["X-Portal-Reason"] == gateway.KEY_REVOKED


def test_a_route_that_stops_asking_for_keys_refuses_them_at_once(world, protected, django_capture_on_commit_callbacks):
    _, key = consumer_key(world)
    assert verify(protected, key).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        route_update(actor=world.principal(Role.DEVELOPER), route=protected, auth=Route.Auth.NONE)
    assert verify(protected, key)["X-Portal-Reason"] == gateway.ROUTE_NOT_PROTECTED
    with django_capture_on_commit_callbacks(execute=True):
        route_update(actor=world.principal(Role.DEVELOPER), route=protected, auth=Route.Auth.API_KEY)
    assert verify(protected, key).status_code == 200


# --- Limits ---------------------------------------------------------------------------------------


def test_over_the_rate_it_is_403_for_ingress_nginx_and_429_when_asked(world, protected):
    plan = usage_plan(world.acme, requests_per_second=1, burst=2)
    _, key = consumer_key(world, usage_plan=plan)
    assert [verify(protected, key).status_code for _ in range(2)] == [200, 200]
    refused = verify(protected, key)
    assert refused.status_code == 403
    assert refused["X-Portal-Reason"] == gateway.RATE_LIMITED and int(refused["Retry-After"]) >= 1
    limited = verify(protected, key, over_limit_status=429)
    assert limited.status_code == 429 and limited["X-Portal-Reason"] == gateway.RATE_LIMITED
    assert verify(protected, key, over_limit_status=500).status_code == 403  # only 403 or 429


def test_each_key_has_its_own_bucket_and_quota_counted_in_redis(world, protected):
    plan = usage_plan(world.acme, requests_per_second=1000, burst=1000, daily_quota=3)
    _, first = consumer_key(world, usage_plan=plan)
    _, second = consumer_key(world, usage_plan=plan)
    assert [verify(protected, first).status_code for _ in range(4)] == [200, 200, 200, 403]
    used_up = verify(protected, first)
    assert used_up["X-Portal-Reason"] == gateway.QUOTA_EXCEEDED and int(used_up["Retry-After"]) > 0
    assert verify(protected, second).status_code == 200  # another key of the same plan counts alone
    counters = list(ratelimit.client().scan_iter(ratelimit.redis_key("consumer", "day", "*")))
    assert len(counters) == 2


def test_a_plan_change_reaches_its_warm_keys(world, protected, django_capture_on_commit_callbacks):
    plan = usage_plan(world.acme, name="trial", requests_per_second=1, burst=1)
    _, key = consumer_key(world, usage_plan=plan)
    assert verify(protected, key).status_code == 200
    assert verify(protected, key).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        usage_plan_update(actor=world.principal(Role.ADMIN), plan=plan, name="pro", burst=50, requests_per_second=50)
    entry = json.loads(ratelimit.client().get(gateway._key_entry(ConsumerKey.objects.get().digest)))
    assert (entry["p"], entry["l"]) == ("pro", [50, 50, None, None])
    time.sleep(0.1)  # the emptied bucket refills at the new rate: 5 calls' worth
    answer = verify(protected, key)
    assert answer.status_code == 200 and answer["X-Consumer-Plan"] == "pro"


# --- What the route renders to --------------------------------------------------------------------


@pytest.fixture
def cluster(world, sandbox):
    from apps.clusters.services import cluster_register, environment_provision

    registered = cluster_register(
        operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url
    )
    environment_provision(environment=world.acme.environments.get(name="dev"))
    return registered


def protected_route(world, shop, **fields):
    from apps.traffic.services import route_create

    return route_create(
        actor=world.principal(Role.DEVELOPER),
        tenant=world.acme,
        environment=world.acme.environments.get(name="dev"),
        application=shop,
        host="shop.acme-corp.com",
        auth=Route.Auth.API_KEY,
        **fields,
    )


def test_ingress_nginx_asks_the_check_and_passes_the_consumer_headers_on(world, shop, cluster, sandbox, settings):
    from apps.clusters.kube import KubeClient
    from apps.traffic import renderers
    from apps.traffic.services import route_apply
    from tests.traffic.test_renderers import K8S_VERSION, kubernetes_validate

    settings.GATEWAY_VERIFY_URL = "http://portal.paas-system.svc:8000/api/v1/gateway/verify/"
    route = protected_route(world, shop)
    [ingress] = renderers.render(route, renderers.Target())
    kubernetes_validate.validate(ingress, K8S_VERSION, strict=True)
    annotations = ingress["metadata"]["annotations"]
    nginx = "nginx.ingress.kubernetes.io"
    assert (
        annotations[f"{nginx}/auth-url"]
        == f"http://portal.paas-system.svc:8000/api/v1/gateway/verify/?route={route.pk}"
    )
    assert annotations[f"{nginx}/auth-response-headers"] == "X-Consumer-Id,X-Consumer-Name,X-Consumer-Plan"

    assert route_apply(route_id=route.pk).state == Route.State.APPLIED
    live = KubeClient(sandbox.api_client()).get("networking.k8s.io/v1", "Ingress", "shop", route.environment.namespace)
    assert live["metadata"]["annotations"][f"{nginx}/auth-url"].endswith(f"?route={route.pk}")

    # the URL the controller calls is the check: a key of the tenant passes there
    _, key = consumer_key(world)
    url = annotations[f"{nginx}/auth-url"].split("?")[0].removeprefix("http://portal.paas-system.svc:8000")
    assert APIClient().get(url, {"route": route.pk}, HTTP_X_API_KEY=key).status_code == 200


def test_a_gateway_api_cluster_refuses_consumer_keys_and_never_renders_a_route_open(world, shop, cluster):
    from apps.clusters.models import Cluster
    from apps.clusters.services import cluster_traffic_set
    from apps.core.errors import ApplicationError
    from apps.traffic.services import route_apply

    route = protected_route(world, shop)
    cluster_traffic_set(
        operator=world.operator_principal,
        cluster=cluster,
        traffic_renderer="gateway_api",
        gateway_namespace="gateways",
        gateway_name="edge",
    )
    # the cluster switched under an existing route: its apply fails rather than render it unchecked
    failed = route_apply(route_id=route.pk)
    assert failed.state == Route.State.FAILED and "external-auth" in failed.last_error

    with pytest.raises(ApplicationError) as refused:
        protected_route(world, shop, path="/other")
    assert set(refused.value.errors) == {"auth"}
    assert Cluster.objects.get().traffic_renderer == "gateway_api"


def test_the_api_refuses_auth_on_a_gateway_api_cluster_naming_the_field(world, shop, cluster, api):
    from apps.clusters.services import cluster_traffic_set

    cluster_traffic_set(
        operator=world.operator_principal,
        cluster=cluster,
        traffic_renderer="gateway_api",
        gateway_namespace="gateways",
        gateway_name="edge",
    )
    api.as_user(world.user(Role.DEVELOPER))
    body = {"tenant": "acme", "environment": "dev", "application": "shop", "host": "shop.acme-corp.com"}
    refused = api.post(reverse("route-list"), {**body, "auth": "api_key"}, format="json")
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["auth"]
    assert api.post(reverse("route-list"), body, format="json").status_code == 201


def test_the_api_view_and_the_middleware_give_the_same_answer(world, protected):
    from django.test import RequestFactory

    from apps.traffic.api.consumer_views import GatewayVerifyView

    _, key = consumer_key(world)
    through_stack = verify(protected, key)
    direct = GatewayVerifyView.as_view()(RequestFactory().get(VERIFY, {"route": protected.pk}, HTTP_X_API_KEY=key))
    assert through_stack.status_code == direct.status_code == 200
    assert through_stack.json() == json.loads(direct.content)
    assert through_stack["X-Consumer-Id"] == direct["X-Consumer-Id"]
    assert "Set-Cookie" not in through_stack and "Content-Security-Policy" not in through_stack
    assert APIClient().post(VERIFY, {"route": protected.pk}).status_code == 405  # only GET is the check


def test_the_api_shows_each_keys_calls_counted_against_its_quotas(world, protected, api, settings):
    busy, plaintext = consumer_key(world)
    idle, _ = consumer_key(world)
    for _ in range(2):
        assert verify(protected, plaintext).status_code == 200
    api.as_user(world.user(Role.VIEWER))
    listed = {
        row["id"]: row["calls"] for row in api.get(reverse("consumerkey-list"), {"tenant": "acme"}).json()["results"]
    }
    assert listed == {busy.pk: {"today": 2, "this_month": 2}, idle.pk: {"today": 0, "this_month": 0}}
    one = api.get(reverse("consumerkey-detail", args=[busy.pk])).json()
    assert one["calls"] == {"today": 2, "this_month": 2}
    settings.API_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # the counters cannot be read
    assert api.get(reverse("consumerkey-detail", args=[busy.pk])).json()["calls"] is None
