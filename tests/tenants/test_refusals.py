"""One refusal: a member below the role a page needs gets a 403 that names the role (as JSON under
Accept: application/json), a suspended organization's member is told it is suspended, a form's
POST-only address opened with GET gets a page, and with DEBUG on (make run) a missing page is the
portal's 404 rather than Django's URL list. Another tenant's pages stay 404s."""

import pytest

from apps.tenants.models import Tenant
from apps.tenants.roles import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "doing", "needs"),
    [
        ("/t/acme/deployments/new/", "Deploying", "developer"),
        ("/t/acme/audit/", "Reading the audit trail", "admin"),
        ("/t/acme/webhooks/", "Managing webhooks", "admin"),
    ],
)
def test_a_viewer_is_told_the_role_a_page_needs(world, client, path, doing, needs):
    client.force_login(world.user(Role.VIEWER))
    response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 403
    assert f"{doing} needs the {needs} role or above; your role in {world.acme.name} is viewer." in page
    assert "Back to the portal" in page

    answer = client.get(path, HTTP_ACCEPT="application/json")
    assert answer.status_code == 403 and answer["Content-Type"] == "application/json"
    assert answer.json() == {
        "code": "permission_denied",
        "detail": f"{doing} needs the {needs} role or above; your role in {world.acme.name} is viewer.",
        "needed_role": needs,
        "role": "viewer",
    }

    client.force_login(world.outsider)  # another tenant's member: no such page, whatever the role
    assert client.get(path).status_code == 404


def test_a_suspended_organizations_owner_is_told_it_is_suspended(world, client):
    Tenant.objects.filter(pk=world.acme.pk).update(status=Tenant.Status.SUSPENDED)
    client.force_login(world.user(Role.OWNER))
    page = client.get("/t/acme/apps/new/").content.decode()
    assert f"{world.acme.name} is suspended" in page
    assert "Your role is" not in page and "role or above" not in page
    client.force_login(world.user(Role.VIEWER))
    page = client.get("/t/acme/apps/new/").content.decode()
    assert "needs the developer role or above; your role in" in page


def test_a_post_only_address_opened_with_get_says_so(world, client):
    client.force_login(world.operator)
    response = client.get("/operator/approvals/rules/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "Not a page to open" in response.content.decode()
    answer = client.get("/operator/approvals/rules/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 405 and answer.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/no-such-page/", "/t/acme/deployments/999999/", "/t/globex/"])
def test_with_debug_on_a_missing_page_is_the_portals_404(world, client, settings, path):
    settings.DEBUG = True
    client.force_login(world.user(Role.VIEWER))
    response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and "Back to the portal" in page
    assert "URLconf" not in page and "DEBUG = True" not in page
