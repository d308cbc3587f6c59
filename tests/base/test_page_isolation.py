"""The isolation suite every tenant page gets from its PageCase.

Anonymous -> sign-in redirect; another tenant's member -> 404 on every page and every form;
readers see the page (members below the read role get the 403 naming it); members below a form's
write rule change nothing.
"""

import pytest

from apps.audit.models import AuditEvent
from apps.tenants.roles import RANK

from .page_cases import PAGE_CASES

pytestmark = pytest.mark.django_db
ROLES_BY_RANK = sorted(RANK, key=RANK.get)

cases = pytest.mark.parametrize("case", PAGE_CASES, ids=str)


def cases_where(applies):
    """Parametrize over the cases a test applies to, so no case is run only to be skipped."""
    return pytest.mark.parametrize("case", [case for case in PAGE_CASES if applies(case)], ids=str)


def submit(client, case, url):
    return getattr(client, case.method)(url, case.data)


@cases
def test_anonymous_is_sent_to_sign_in(case, world, client):
    response = submit(client, case, case.url(world, world.acme))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@cases
def test_another_tenants_member_gets_404_and_changes_nothing(case, world, client):
    url = case.url(world, world.acme)
    before = AuditEvent.objects.count()
    client.force_login(world.outsider)
    assert submit(client, case, url).status_code == 404
    assert AuditEvent.objects.count() == before


@cases
def test_operators_are_not_members(case, world, client):
    client.force_login(world.operator)
    assert submit(client, case, case.url(world, world.acme)).status_code == 404


@cases_where(lambda case: case.method == "get")
def test_a_reader_sees_the_page(case, world, client):
    client.force_login(world.user(case.read_role))
    response = client.get(case.url(world, world.acme))
    assert response.status_code == case.read_status
    if case.read_status == 302:
        assert response["Location"].startswith(f"/t/{world.acme.slug}/")


@cases_where(lambda case: case.method == "get" and ROLES_BY_RANK.index(case.read_role) > 0)
def test_below_the_read_role_is_a_403_naming_the_role(case, world, client):
    index = ROLES_BY_RANK.index(case.read_role)
    client.force_login(world.user(ROLES_BY_RANK[index - 1]))
    response = client.get(case.url(world, world.acme))
    assert response.status_code == 403 and f"needs the {case.read_role} role" in response.content.decode()


@cases_where(lambda case: case.write_role is not None)
def test_below_the_write_role_changes_nothing(case, world, client):
    url = case.url(world, world.acme)
    denied = ROLES_BY_RANK[ROLES_BY_RANK.index(case.write_role) - 1]
    client.force_login(world.user(denied))
    before = AuditEvent.objects.count()
    response = submit(client, case, url)
    assert response.status_code in (302, 400, 403, 404)
    assert AuditEvent.objects.count() == before
