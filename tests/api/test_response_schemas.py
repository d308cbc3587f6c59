"""Responses match the schema the API publishes: the cases schemathesis found (issue 12, item 14)."""

import pytest
import requests
import schemathesis

from apps.deployments.models import Deployment, DeploymentEvent
from apps.tenants.models import Quota
from apps.tenants.roles import Role
from tests.deployments.conftest import make_app, make_release

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(asgi_server, world):
    """(get, validate): GET with an owner's key, and validate a response against its operation."""
    schema = schemathesis.openapi.from_url(f"{asgi_server}/api/schema/")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {world.key(Role.OWNER)}"

    def get(path):
        return session.get(f"{asgi_server}{path}", timeout=20)

    def validate(template, response):
        assert response.status_code == 200, response.text
        schema[template]["GET"].validate_response(response)
        return response.json()

    return get, validate


def test_a_tenant_wide_quota_reads_with_a_null_environment_the_schema_allows(live, world):
    get, validate = live
    Quota.objects.create(tenant=world.acme, resource="applications", limit=5)
    rows = validate("/api/v1/tenants/{slug}/usage/", get("/api/v1/tenants/acme/usage/"))
    assert any(row["environment"] is None for row in rows)


def test_an_event_that_is_not_a_state_change_reads_with_a_blank_state_the_schema_allows(live, world):
    get, validate = live
    release = make_release(make_app(world.acme, "shop"))
    deployment = Deployment.objects.create(
        tenant=world.acme,
        release=release,
        application=release.application,
        environment=world.acme.environments.get(name="dev"),
    )
    DeploymentEvent.objects.create(deployment=deployment, seq=1, kind="log", message="pulling image")
    body = validate("/api/v1/deployments/{id}/events/", get(f"/api/v1/deployments/{deployment.pk}/events/"))
    events = body["results"] if isinstance(body, dict) else body
    assert [event["state"] for event in events] == [""]
