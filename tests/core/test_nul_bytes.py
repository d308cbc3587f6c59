"""A NUL character in a query string is a 400 with a clear reason, never a 500 from PostgreSQL."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/environments/?tenant=a%00b",
        "/api/v1/audit-events/?action=%00",
        "/api/v1/operator/change-requests/?tenant=x%00",
    ],
)
def test_the_api_refuses_nul_in_filters(world, api, url):
    api.as_user(world.operator if "operator" in url else world.user("owner"))
    response = api.get(url)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": "The query string contains a NUL character."}


def test_pages_refuse_nul_in_filters_with_the_friendly_page(world, client):
    client.force_login(world.user("owner"))
    response = client.get("/t/acme/audit/?action=%00")
    assert response.status_code == 400 and b"<html" in response.content


def test_ordinary_filters_still_work(world, api):
    response = api.as_user(world.user("owner")).get("/api/v1/environments/?tenant=acme")
    assert response.status_code == 200 and len(response.json()["results"]) == 3
