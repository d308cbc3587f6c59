"""The tenant audit trail page: owners and admins only, filters, keyset pages and exports."""

import csv
import html
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.selectors import PAGE_SIZE
from apps.core.audit import audit_record
from apps.tenants.roles import Role
from tests.factories import EnvironmentFactory, MembershipFactory, TenantFactory


def _member(tenant, role):
    return MembershipFactory(tenant=tenant, role=role, user__email=f"{role}@{tenant.slug}.test").user


@pytest.fixture
def acme(db):
    return TenantFactory(slug="acme", name="Acme Corp")


@pytest.fixture
def owner(acme):
    return _member(acme, Role.OWNER)


@pytest.fixture
def admin(acme):
    return _member(acme, Role.ADMIN)


@pytest.fixture
def developer(acme):
    return _member(acme, Role.DEVELOPER)


@pytest.fixture
def globex(db):
    return TenantFactory(slug="globex", name="Globex")


@pytest.fixture
def outsider(globex):
    return _member(globex, Role.OWNER)


@pytest.fixture
def trail(acme, owner, admin, globex, outsider):
    """A few events in acme by two people, and one in globex that acme must never see."""
    env = EnvironmentFactory(tenant=acme, name="qa")
    audit_record(actor=owner, action="environment.create", obj=env, changes={"name": [None, "qa"]})
    audit_record(actor=admin, action="member.change_role", obj=acme, changes={"role": ["viewer", "developer"]})
    audit_record(actor=admin, action="=cmd|' /C calc'!A0", obj=acme)
    audit_record(actor=outsider, action="environment.create", obj=EnvironmentFactory(tenant=globex, name="secret"))


def _rows(page: str) -> int:
    return page.split('id="audit-events"')[1].split("<tbody>")[1].split("</tbody>")[0].count("<tr>")


def test_owners_and_admins_read_the_trail_others_are_refused(client, trail, owner, admin, developer, outsider):
    for user in (owner, admin):
        client.force_login(user)
        page = html.unescape(client.get("/t/acme/audit/").content.decode())
        assert "environment.create" in page and "acme/qa" in page and "secret" not in page
        assert 'role</span> <code>["viewer","developer"]</code>' in page
    client.force_login(developer)  # a member below the role: the 403 that names it
    assert client.get("/t/acme/audit/").status_code == 403
    assert client.get("/t/acme/audit/?format=csv").status_code == 403
    client.force_login(outsider)  # another tenant's member: the page does not exist for them
    assert client.get("/t/acme/audit/").status_code == 404
    assert client.get("/t/acme/audit/?format=csv").status_code == 404


def test_developers_do_not_see_the_audit_link(client, developer):
    client.force_login(developer)
    assert "/t/acme/audit/" not in client.get("/t/acme/").content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=admin@", 2),
        ("action=environment", 1),
        ("action=member.change_role", 1),
        ("object_type=tenants.environment", 1),
        ("object_type=tenants.tenant&actor=owner", 0),
        ("created_after={today}&created_before={today}", 3),
        ("created_after={tomorrow}", 0),
    ],
)
def test_filters_narrow_the_trail(client, trail, owner, query, expected):
    today = timezone.now().date()
    query = query.format(today=today, tomorrow=today + timedelta(days=1))
    client.force_login(owner)
    page = client.get(f"/t/acme/audit/?{query}").content.decode()
    if expected:
        assert _rows(page) == expected
    else:
        assert "No events match." in page


def test_older_link_pages_by_id(client, acme, owner):
    for n in range(PAGE_SIZE + 5):
        audit_record(actor=owner, action=f"test.event{n:02d}", obj=acme)
    client.force_login(owner)
    first = client.get("/t/acme/audit/?action=test.").content.decode()
    assert _rows(first) == PAGE_SIZE and "test.event54" in first and "test.event04" not in first
    older = first.split('id="older"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "action=test." in older and "before=" in older
    second = client.get(f"/t/acme/audit/{older}").content.decode()
    assert _rows(second) == 5 and "test.event04" in second and "test.event05" not in second
    assert 'id="older"' not in second


def test_csv_export_holds_the_filtered_rows(client, trail, admin):
    client.force_login(admin)
    response = client.get("/t/acme/audit/?actor=admin@&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="audit-acme-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["action"] for row in rows] == ["'=cmd|' /C calc'!A0", "member.change_role"]
    assert rows[1]["actor"] == "admin@acme.test" and rows[1]["tenant"] == "acme"
    assert json.loads(rows[1]["changes"]) == {"role": ["viewer", "developer"]}


def test_json_export(client, trail, owner):
    client.force_login(owner)
    response = client.get("/t/acme/audit/?format=json&object_type=tenants.environment")
    events = json.loads(response.content)
    assert [(e["action"], e["object"]) for e in events] == [("environment.create", "acme/qa")]
