"""The isolation suite every tenant API endpoint gets from its ApiCase.

Anonymous -> 401; another tenant's row -> 404 with the body of a missing one and absent from lists;
a role below the write rule -> 403; every write -> exactly one audit event; a list costs the same
number of queries for 1 and 100 rows; API keys are held to their scopes and their tenant.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.tenants.principals import as_principal
from apps.tenants.roles import RANK, Role, scopes_for_role

from .api_cases import API_CASES

pytestmark = pytest.mark.django_db

ROLES_BY_RANK = sorted(RANK, key=RANK.get)


def list_url(case):
    return reverse(f"{case.basename}-list")


def detail_url(case, row):
    return reverse(f"{case.basename}-detail", args=[case.lookup(row)])


def ids(payload):
    results = payload["results"] if isinstance(payload, dict) else payload
    return {item["id"] for item in results}


def role_below(role):
    index = ROLES_BY_RANK.index(role)
    return ROLES_BY_RANK[index - 1] if index else None


def home_row(case, world):
    return case.make(world, world.acme, 1, world.user(case.read_role))[0]


cases = pytest.mark.parametrize("case", API_CASES, ids=str)


def cases_where(applies):
    """Parametrize over the cases a test applies to, so no case is run only to be skipped."""
    return pytest.mark.parametrize("case", [case for case in API_CASES if applies(case)], ids=str)


def has_writes(case):
    return bool(case.create or case.update or case.delete or case.actions)


def has_denied_writer(case):
    denied = role_below(case.write_role) if case.write_role else None
    return has_writes(case) and denied is not None and RANK[denied] >= RANK[case.read_role]


@cases
def test_anonymous_gets_401(case, world, api):
    row = home_row(case, world)
    for url in (list_url(case), detail_url(case, row)):
        response = api.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"


@cases
def test_another_tenants_row_is_a_404_like_a_missing_one(case, world, api):
    row = home_row(case, world)
    api.as_user(world.outsider)
    foreign = api.get(detail_url(case, row))
    missing = api.get(reverse(f"{case.basename}-detail", args=["999999" if case.lookup(row) == row.pk else "nope"]))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"code": "not_found", "detail": "Not found."}
    assert row.pk not in ids(api.get(list_url(case)).json())


@cases
def test_a_reader_sees_the_row(case, world, api):
    row = home_row(case, world)
    api.as_user(world.user(case.read_role))
    assert api.get(detail_url(case, row)).status_code == 200
    assert row.pk in ids(api.get(list_url(case)).json())


@cases_where(lambda case: role_below(case.read_role) is not None)
def test_a_member_below_the_read_role_does_not_see_the_row(case, world, api):
    below = role_below(case.read_role)
    row = home_row(case, world)
    api.as_user(world.user(below))
    assert api.get(detail_url(case, row)).status_code == 404
    assert row.pk not in ids(api.get(list_url(case)).json())


def writes(case, world, row):
    """(method, url, payload) for each write the endpoint offers."""
    found = []
    if case.create:
        found.append(("post", list_url(case), case.create(world)))
    if case.update:
        found.append(("patch", detail_url(case, row), case.update(world, row)))
    for name, payload in (case.actions or {}).items():
        found.append(("post", reverse(f"{case.basename}-{name}", args=[case.lookup(row)]), payload(world, row)))
    if case.delete:  # last: the row is gone after it
        found.append(("delete", detail_url(case, row), None))
    return found


@cases_where(has_denied_writer)
def test_a_role_below_the_write_rule_gets_403(case, world, api):
    denied = role_below(case.write_role)
    row = home_row(case, world)
    api.as_user(world.user(denied))
    before = AuditEvent.objects.count()
    for method, url, payload in writes(case, world, row):
        response = getattr(api, method)(url, payload, format="json")
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["code"] == "permission_denied"
    assert AuditEvent.objects.count() == before


@cases_where(has_writes)
def test_another_tenant_cannot_write_the_row(case, world, api):
    row = home_row(case, world)
    api.as_user(world.outsider)
    for method, url, payload in writes(case, world, row):
        if method == "post" and url == list_url(case):
            response = api.post(url, payload, format="json")
            assert response.status_code == 400 and "tenant" in response.json()["fields"], response.content
        else:
            assert getattr(api, method)(url, payload, format="json").status_code == 404


@cases_where(has_writes)
def test_every_write_leaves_exactly_one_audit_event(case, world, api):
    writer = world.user(case.write_role or case.read_role)
    api.as_user(writer)
    for method, url, payload in writes(case, world, home_row(case, world)):
        before = AuditEvent.objects.count()
        response = getattr(api, method)(url, payload, format="json")
        assert 200 <= response.status_code < 300, (method, url, response.content)
        assert AuditEvent.objects.count() == before + 1, (method, url)
        event = AuditEvent.objects.order_by("-id").first()
        assert event.actor_id == writer.pk and event.tenant_id == world.acme.pk


@cases
def test_list_queries_do_not_grow_with_the_list(case, world, api):
    reader = world.user(case.read_role)
    case.make(world, world.acme, 1, reader)
    api.as_user(reader)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = api.get(list_url(case), {"page_size": 100})
        assert response.status_code == 200
        return len(queries), len(ids(response.json()))

    count()  # the first request of a session also records the session's activity
    small, small_rows = count()
    case.make(world, world.acme, 99, reader)
    large, large_rows = count()
    assert large_rows > small_rows
    assert large == small, f"{case.basename}: {small} queries for {small_rows} rows, {large} for {large_rows}"


@cases
def test_api_key_needs_the_scope(case, world, api):
    row = home_row(case, world)
    others = [scope for scope in scopes_for_role(Role.OWNER) if not scope.startswith(f"{case.resource}:")]
    api.with_key(world.key(Role.OWNER, scopes=others[:3]))
    response = api.get(list_url(case))
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    assert f"{case.resource}:read" in response.json()["detail"]

    api.with_key(world.key(Role.OWNER, scopes=[f"{case.resource}:read"]))
    assert api.get(detail_url(case, row)).status_code == 200


@cases
def test_api_key_never_reaches_another_tenant(case, world, api):
    foreign = case.make(world, world.globex, 1, world.user(case.read_role, "globex"))[0]
    # The globex owner is also made a member of acme: their acme key must still not see globex rows.
    from apps.tenants.models import Membership

    Membership.objects.create(tenant=world.acme, user=world.user(Role.OWNER, "globex"), role=Role.OWNER)
    api.with_key(_acme_key_of_globex_owner(world))
    assert api.get(detail_url(case, foreign)).status_code == 404
    assert foreign.pk not in ids(api.get(list_url(case)).json())


def _acme_key_of_globex_owner(world):
    from apps.apikeys.services import apikey_create

    user = world.user(Role.OWNER, "globex")
    return apikey_create(
        actor=as_principal(user), tenant=world.acme, name="acme key", scopes=scopes_for_role(Role.OWNER)
    )[1]
