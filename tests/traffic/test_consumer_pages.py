"""The consumer keys page: a tenant's consumer keys and usage plans in the browser, through the same services
as the API (tests/traffic/test_gateway.py). Each tenant page's isolation is in tests/base/cases_traffic.py."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.apikeys import keys, ratelimit
from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.tenants.roles import Role
from apps.traffic import consumer_pages
from apps.traffic.consumer_keys import consumer_key_revoke
from apps.traffic.models import ConsumerKey, Route, UsagePlan
from tests.base.cases_traffic import route as make_route
from tests.base.cases_traffic import usage_plan
from tests.conftest import free_port

from .test_gateway import consumer_key, verify

pytestmark = pytest.mark.django_db


def page(name="consumers:list", **kwargs):
    return reverse(name, kwargs={"tenant_slug": "acme", **kwargs})


@pytest.fixture
def admin(world, client):
    client.force_login(world.user(Role.ADMIN))
    return client


def test_a_key_made_on_the_page_is_shown_once_and_passes_the_gateway_on_its_plan(world, admin):
    gold = usage_plan(world.acme, name="gold", requests_per_second=50, burst=100, daily_quota=5000)
    protected = make_route(world.acme, auth=Route.Auth.API_KEY)

    created = admin.post(page(), {"name": "partner-1", "usage_plan": "gold", "expires_in_days": "30"})

    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    consumer = ConsumerKey.objects.get()
    plaintext = created.context["plaintext"]
    assert plaintext.startswith(consumer.prefix) and keys.matches(plaintext, consumer.digest)
    text = created.content.decode()
    assert plaintext in text and "gold" in text and "5,000" in text
    assert f"https://{protected.host}/" in text  # the example the consumer can run as it is
    assert consumer.usage_plan == gold and consumer.expires_at is not None
    assert consumer.created_by == world.user(Role.ADMIN)
    answer = verify(protected, plaintext)
    assert answer.status_code == 200 and answer["X-Consumer-Plan"] == "gold"
    assert AuditEvent.objects.filter(action="consumerkey.create", object_id=str(consumer.pk)).exists()
    # The list shows the key by its prefix only, from now on.
    listed = admin.get(page()).content.decode()
    assert consumer.prefix in listed and plaintext not in listed


def test_a_key_without_a_plan_gets_the_platforms_limits_and_the_page_says_so(world, admin, settings):
    settings.CONSUMER_KEY_DEFAULT_LIMITS = {**settings.CONSUMER_KEY_DEFAULT_LIMITS, "requests_per_second": 7}
    created = admin.post(page(), {"name": "partner-2", "usage_plan": "", "expires_in_days": ""})
    assert created.status_code == 200
    consumer = ConsumerKey.objects.get()
    assert consumer.usage_plan is None and consumer.expires_at is None
    assert created.context["limits"].name == "default" and created.context["limits"].requests_per_second == 7
    assert "no-route-yet" in created.content.decode()  # the key opens nothing until a route asks for one
    assert admin.get(page()).context["live_keys_without_plan"] == 1


def test_bad_input_names_its_field_and_makes_nothing(world, admin):
    other = usage_plan(world.globex, name="globex-plan")
    refused = admin.post(page(), {"name": "bad\nname", "usage_plan": other.name, "expires_in_days": "0"})
    assert refused.status_code == 400
    errors = refused.context["key_form"].errors
    assert set(errors) == {"name", "usage_plan", "expires_in_days"}, errors
    assert "consumers-refused" in refused.content.decode()
    assert not ConsumerKey.objects.exists()


def test_revoking_on_the_page_stops_the_key_at_the_gateway(world, admin, django_capture_on_commit_callbacks):
    protected = make_route(world.acme, auth=Route.Auth.API_KEY)
    consumer, plaintext = consumer_key(world)
    assert verify(protected, plaintext).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):  # the gateway's cache hears of it on commit
        response = admin.post(page("consumers:revoke", pk=consumer.pk), follow=True)

    assert response.redirect_chain[-1][0] == page()
    assert "is revoked" in response.content.decode()
    consumer.refresh_from_db()
    assert consumer.state == "revoked" and consumer.revoked_by == world.user(Role.ADMIN)
    assert verify(protected, plaintext).status_code == 401
    again = admin.post(page("consumers:revoke", pk=consumer.pk), follow=True)
    assert "already revoked" in again.content.decode()


def test_a_suspended_tenants_admin_still_revokes_keys_on_the_page_and_nothing_else(
    world, admin, django_capture_on_commit_callbacks
):
    from apps.tenants.services import tenant_set_status

    protected = make_route(world.acme, auth=Route.Auth.API_KEY)
    consumer, plaintext = consumer_key(world)
    gold = usage_plan(world.acme, name="gold")
    tenant_set_status(operator=world.operator_principal, tenant=world.acme, status="suspended", reason="a leak")

    text = admin.get(page()).content.decode()
    assert "keys can still be revoked" in text and f'aria-label="Revoke {consumer.name}"' in text
    assert "create-consumer-key" not in text and "add-usage-plan" not in text
    refused = admin.post(page(), {"name": "another"})
    assert refused.status_code == 403 and "is suspended" in refused.content.decode()
    assert admin.post(page("consumers:plan-delete", pk=gold.pk)).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(page("consumers:revoke", pk=consumer.pk), follow=True)
    assert "is revoked" in response.content.decode()
    consumer.refresh_from_db()
    assert consumer.state == "revoked" and ConsumerKey.objects.count() == 1
    assert UsagePlan.objects.filter(pk=gold.pk).exists()
    assert verify(protected, plaintext).status_code == 401


def test_plans_are_added_changed_and_deleted_and_a_plan_in_use_stays(world, admin):
    added = admin.post(
        page("consumers:plan-create"),
        {"name": "silver", "description": "Partners", "requests_per_second": "5", "burst": "10", "daily_quota": ""},
        follow=True,
    )
    assert "Usage plan “silver” added" in added.content.decode()
    silver = UsagePlan.objects.get(tenant=world.acme, name="silver")
    assert (silver.requests_per_second, silver.burst, silver.daily_quota) == (5, 10, None)

    form = admin.get(page("consumers:plan-edit", pk=silver.pk))
    assert form.status_code == 200 and form.context["form"].initial["burst"] == 10
    saved = admin.post(
        page("consumers:plan-edit", pk=silver.pk),
        {
            "name": "silver",
            "description": "Partners",
            "requests_per_second": "8",
            "burst": "16",
            "monthly_quota": "9000",
        },
        follow=True,
    )
    assert "saved" in saved.content.decode()
    silver.refresh_from_db()
    assert (silver.requests_per_second, silver.burst, silver.monthly_quota) == (8, 16, 9000)
    assert AuditEvent.objects.filter(action="usageplan.update", object_id=str(silver.pk)).exists()

    consumer_key(world, usage_plan=silver)
    kept = admin.post(page("consumers:plan-delete", pk=silver.pk), follow=True)
    assert "change the plan instead" in kept.content.decode()
    assert UsagePlan.objects.filter(pk=silver.pk).exists()

    spare = usage_plan(world.acme, name="spare")
    deleted = admin.post(page("consumers:plan-delete", pk=spare.pk), follow=True)
    assert "Usage plan “spare” deleted" in deleted.content.decode()
    assert not UsagePlan.objects.filter(pk=spare.pk).exists()


def test_a_plan_with_a_burst_below_its_rate_or_a_taken_name_is_refused_on_its_fields(world, admin):
    usage_plan(world.acme, name="gold")
    for fields, field in (({"name": "GOLD", "burst": "20"}, "name"), ({"name": "silver", "burst": "5"}, "burst")):
        refused = admin.post(page("consumers:plan-create"), {"requests_per_second": "10", **fields})
        assert refused.status_code == 400
        assert set(refused.context["plan_form"].errors) == {field}, refused.context["plan_form"].errors
    assert list(UsagePlan.objects.values_list("name", flat=True)) == ["gold"]
    plan = UsagePlan.objects.get(name="gold")
    edited = admin.post(
        page("consumers:plan-edit", pk=plan.pk), {"name": "gold", "requests_per_second": "0", "burst": "1"}
    )
    assert edited.status_code == 400 and "requests_per_second" in edited.context["form"].errors
    assert "plan-refused" in edited.content.decode()
    plan.refresh_from_db()
    assert plan.requests_per_second == 5


def test_members_see_keys_and_plans_and_only_admins_get_the_forms(world, client):
    consumer, _ = consumer_key(world)
    usage_plan(world.acme, name="gold")
    client.force_login(world.user(Role.DEVELOPER))
    text = client.get(page()).content.decode()
    assert consumer.prefix in text and "gold" in text
    assert "create-consumer-key" not in text and "add-usage-plan" not in text
    assert "Owners and admins create and revoke keys" in text
    refused = client.post(page(), {"name": "sneaky"})
    assert refused.status_code == 403 and "needs the admin role" in refused.content.decode()
    assert ConsumerKey.objects.count() == 1


def test_a_long_list_shows_the_newest_keys_and_says_where_the_rest_are(world, admin):
    length = consumer_pages.LIST_LENGTH
    ConsumerKey.objects.bulk_create(
        ConsumerKey(tenant=world.acme, name=f"consumer {n}", lookup=f"lk{n:014d}", digest="0" * 64)
        for n in range(length + 1)
    )
    newest_first = list(ConsumerKey.objects.filter(tenant=world.acme).order_by("-id").values_list("pk", flat=True))
    response = admin.get(page())
    assert [key.pk for key in response.context["keys"]] == newest_first[:length]
    assert f"The newest {length} of {length + 1} keys" in response.content.decode()
    assert response.context["live_keys_without_plan"] == length + 1


@pytest.mark.django_db(transaction=True)
def test_a_plan_deleted_after_it_was_chosen_is_a_refusal_naming_it_not_a_500(world):
    plan = usage_plan(world.acme, name="gold")
    UsagePlan.objects.filter(pk=plan.pk).delete()  # by another admin, after this request read the plan
    with pytest.raises(ApplicationError) as refused:
        consumer_key(world, usage_plan=plan)
    assert set(refused.value.errors) == {"usage_plan"}
    assert not ConsumerKey.objects.exists()


def test_an_empty_submission_of_a_plan_names_the_missing_fields(world, admin):
    plan = usage_plan(world.acme, name="gold")
    refused = admin.post(page("consumers:plan-edit", pk=plan.pk), {})
    assert refused.status_code == 400
    assert {"name", "requests_per_second", "burst"} <= set(refused.context["form"].errors)
    assert "plan-refused" in refused.content.decode()


def test_sending_the_key_form_again_makes_no_second_key_and_names_the_first(world, admin):
    form = admin.get(page()).content.decode()
    once = form.split('name="once" value="')[1].split('"')[0]
    first = admin.post(page(), {"name": "partner-1", "once": once})
    assert first.status_code == 200 and ConsumerKey.objects.count() == 1
    made = ConsumerKey.objects.get()

    again = admin.post(page(), {"name": "partner-1", "once": once}, follow=True)  # a reload of the shown key

    assert ConsumerKey.objects.count() == 1
    assert again.redirect_chain[-1][0] == page()
    text = again.content.decode()
    assert "That form was sent already" in text and made.prefix in text and first.context["plaintext"] not in text
    other = admin.get(page()).content.decode().split('name="once" value="')[1].split('"')[0]
    assert other != once
    assert admin.post(page(), {"name": "partner-2", "once": other}).status_code == 200
    assert ConsumerKey.objects.count() == 2


def test_a_refused_key_form_may_be_sent_again_with_its_token(world, admin):
    once = admin.get(page()).content.decode().split('name="once" value="')[1].split('"')[0]
    assert admin.post(page(), {"name": "bad\nname", "once": once}).status_code == 400
    assert admin.post(page(), {"name": "partner-1", "once": once}).status_code == 200  # corrected, sent again
    assert ConsumerKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sendings_of_one_token_at_once_make_one_key(world):
    """A double click: both requests are in flight together, and only the first to claim the token acts."""
    admin = Client()
    admin.force_login(world.user(Role.ADMIN))
    once = admin.get(page()).content.decode().split('name="once" value="')[1].split('"')[0]
    start, answers = threading.Barrier(2), []

    def send():
        client = Client()
        client.cookies = admin.cookies
        start.wait()
        answers.append(client.post(page(), {"name": "partner-1", "once": once}).status_code)
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 302]  # the key shown once, and the list naming it
    assert ConsumerKey.objects.count() == 1


def test_a_plan_counts_its_live_keys_and_every_key_it_was_given(world, admin):
    gold = usage_plan(world.acme, name="gold")
    kept, _ = consumer_key(world, usage_plan=gold)
    gone, _ = consumer_key(world, usage_plan=gold)
    consumer_key_revoke(actor=world.principal(Role.ADMIN), consumer_key=gone)
    consumer_key(world)  # on no plan, live
    consumer_key_revoke(actor=world.principal(Role.ADMIN), consumer_key=consumer_key(world)[0])
    context = admin.get(page()).context
    row = next(plan for plan in context["plans"] if plan.pk == gold.pk)
    assert (row.live_keys, row.key_count) == (1, 2)
    assert context["live_keys_without_plan"] == 1  # the default plan's row counts the same way


def test_the_address_of_a_refused_plan_form_opened_again_leads_back_to_the_form(world, admin):
    response = admin.get(page("consumers:plan-create"))
    assert response.status_code == 302 and response["Location"] == page() + "#add-usage-plan"


def test_each_key_shows_the_calls_the_gateway_counted_against_its_quotas(world, admin):
    gold = usage_plan(world.acme, name="gold", requests_per_second=50, burst=100, daily_quota=5000)
    protected = make_route(world.acme, auth=Route.Auth.API_KEY)
    busy, plaintext = consumer_key(world, usage_plan=gold)
    idle, _ = consumer_key(world)
    for _ in range(3):
        assert verify(protected, plaintext).status_code == 200
    response = admin.get(page())
    rows = {key.pk: key for key in response.context["keys"]}
    assert rows[busy.pk].calls == (3, 3) and rows[idle.pk].calls == (0, 0)
    text = response.content.decode()
    assert "3 <span" in text and "/ 5,000" in text  # today's calls beside the daily quota
    assert "calls-unread" not in text


def test_with_redis_unreachable_the_page_says_the_calls_are_not_shown(world, admin, settings):
    consumer_key(world)
    settings.API_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = admin.get(page())
    assert response.status_code == 200
    assert response.context["keys"][0].calls is None
    assert "the gateway's counters in Redis could not be read" in response.content.decode()
    assert ratelimit.available()  # a page that could not read the calls does not pause the limiter
