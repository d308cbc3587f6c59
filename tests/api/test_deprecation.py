"""Deprecation headers and the changelog they point to."""

from datetime import date

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.core.deprecation import deprecated


class OldView(APIView):
    authentication_classes = []
    permission_classes = []

    @deprecated(since=date(2026, 1, 1), sunset=date(2027, 1, 1), replacement="GET /api/v1/new/")
    def get(self, request):
        """The old way."""
        return Response({"ok": True})


def test_a_deprecated_endpoint_says_so_in_its_headers_and_its_schema():
    response = OldView.as_view()(APIRequestFactory().get("/api/v1/old/"))
    assert response.status_code == 200
    assert response["Deprecation"] == "@1767225600"
    assert response["Sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert response["Link"] == '</api/changelog/>; rel="deprecation"'

    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(patterns=[path("api/v1/old/", OldView.as_view())])
    operation = generator.get_schema(request=None, public=True)["paths"]["/api/v1/old/"]["get"]
    assert operation["deprecated"] is True
    assert "Use GET /api/v1/new/ instead." in operation["description"]


@pytest.mark.django_db
def test_the_changelog_is_served_read_only(client):
    response = client.get("/api/changelog/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "# API changelog" in response.content.decode() and "Idempotency-Key" in response.content.decode()
    assert client.post("/api/changelog/").status_code == 405


def test_every_operation_documents_the_error_shape(client, world):
    client.force_login(world.user("viewer"))
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "detail"]
    operations = [op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert operations and all("default" in op["responses"] for op in operations)
    release_create = schema["paths"]["/api/v1/releases/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in release_create["parameters"])
