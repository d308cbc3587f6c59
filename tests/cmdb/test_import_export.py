"""Bulk import and export: dry runs report what would change, bad rows are reported row by row,
nothing is imported half-way unless skip_invalid asks for it, and an export imports back unchanged."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.cmdb.models import ConfigurationItem
from apps.cmdb.services import items_import, parse
from apps.cmdb.services.imports import ROWS_INVALID
from apps.core.errors import ApplicationError
from apps.tenants.principals import as_principal

pytestmark = pytest.mark.django_db

CSV = """type,name,description,labels,attributes
database,orders-db,Orders,"{""tier"": ""gold""}","{""engine"": ""postgres""}"
queue,jobs,,,
"""
BAD_CSV = (
    CSV
    + """database,broken,,,"{""engine"": 5}"
nonsense,what,,,
"""
)


def declared(tenant):
    return set(ConfigurationItem.objects.filter(tenant=tenant).exclude(source="catalog").values_list("name", flat=True))


def test_dry_run_reports_and_changes_nothing(world):
    report = items_import(actor=world.principal("developer"), tenant=world.acme, rows=parse(CSV, "csv"), dry_run=True)
    assert report["summary"] == {"create": 2, "update": 0, "unchanged": 0, "error": 0}
    assert report["applied"] is False and declared(world.acme) == set()


def test_import_then_reimport_updates(world):
    developer = world.user("developer")
    items_import(actor=as_principal(developer), tenant=world.acme, rows=parse(CSV, "csv"))
    db = ConfigurationItem.objects.get(name="orders-db")
    assert db.labels == {"tier": "gold"} and db.declared_attributes == {"engine": "postgres"}
    changed = CSV.replace("Orders", "All orders")
    report = items_import(actor=as_principal(developer), tenant=world.acme, rows=parse(changed, "csv"), dry_run=True)
    assert [line["action"] for line in report["rows"]] == ["update", "unchanged"]


def test_bad_rows_mean_nothing_is_imported(world):
    with pytest.raises(ApplicationError) as refused:
        items_import(actor=world.principal("developer"), tenant=world.acme, rows=parse(BAD_CSV, "csv"))
    assert refused.value.code == ROWS_INVALID
    rows = refused.value.report["rows"]
    assert [(line["row"], line["action"]) for line in rows] == [
        (1, "create"),
        (2, "create"),
        (3, "error"),
        (4, "error"),
    ]
    assert rows[2]["field"] == "attributes" and rows[3]["field"] == "type"
    assert declared(world.acme) == set()


def test_skip_invalid_imports_the_good_rows(world):
    report = items_import(
        actor=world.principal("developer"), tenant=world.acme, rows=parse(BAD_CSV, "csv"), skip_invalid=True
    )
    assert report["applied"] and report["summary"]["error"] == 2
    assert declared(world.acme) == {"orders-db", "jobs"}


def test_export_imports_back_unchanged(world, api):
    items_import(actor=world.principal("developer"), tenant=world.acme, rows=parse(CSV, "csv"))
    api.as_user(world.user("developer"))
    for fmt in ("csv", "json"):
        exported = api.get(reverse("cmdb-item-export"), {"as": fmt, "q": "o"})
        assert exported.status_code == 200
        upload = SimpleUploadedFile(f"items.{fmt}", exported.content)
        response = api.post(
            reverse("cmdb-item-import"), {"tenant": "acme", "file": upload, "dry_run": "true"}, format="multipart"
        )
        assert response.status_code == 200, response.content
        assert {line["action"] for line in response.json()["rows"]} == {"unchanged"}


def test_api_import_reports_bad_rows_with_400(world, api):
    api.as_user(world.user("developer"))
    rows = [{"type": "database", "name": "ok"}, {"type": "database", "name": ""}]
    response = api.post(reverse("cmdb-item-import"), {"tenant": "acme", "items": rows}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == ROWS_INVALID and body["rows"][1]["field"] == "name"
    assert declared(world.acme) == set()
    assert (
        api.post(
            reverse("cmdb-item-import"), {"tenant": "acme", "items": rows, "skip_invalid": True}, format="json"
        ).json()["summary"]["create"]
        == 1
    )


def test_a_file_that_is_not_json_is_refused(world):
    with pytest.raises(ApplicationError):
        parse("{not json", "json")
    assert parse(json.dumps({"items": [{"type": "queue", "name": "q"}]}), "json") == [{"type": "queue", "name": "q"}]
