"""CMDB imports have limits and never answer 500 (issue 12, items 8 and 12): a cell over the CSV
field limit and NUL characters are 400s naming the row or field, an upload over
CMDB_IMPORT_MAX_BYTES is a 413, more rows than CMDB_IMPORT_MAX_ROWS a 400; small imports answer
at once and larger ones become a background job (see test_import_jobs.py)."""

import csv
import io
import json
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cmdb import services
from apps.cmdb.api.serializers import ItemCreateSerializer
from apps.cmdb.models import CIType, ConfigurationItem, ImportJob
from apps.cmdb.services.imports import BAD_FILE, FILE_TOO_LARGE, ROWS_INVALID, TOO_MANY_ROWS
from apps.core.errors import ApplicationError
from apps.tenants.principals import as_principal

from .conftest import make_item

pytestmark = pytest.mark.django_db

URL = "/api/v1/cmdb/items/import/"


def csv_file(rows, name="items.csv"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["type", "name", "description", "labels", "attributes"])
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode())


def upload(api, file, **fields):
    return api.post(URL, {"tenant": "acme", "file": file, **fields}, format="multipart")


def test_a_cell_over_the_csv_field_limit_is_a_400_naming_the_row(world, api):
    api.as_user(world.user("developer"))
    response = upload(api, csv_file([["database", "ok"], ["database", "big", "x" * (130 * 1024)]]))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == BAD_FILE and "Row 2" in body["detail"] and "128 KiB" in body["detail"]
    assert body["fields"] == {"file": [body["detail"]]}


@pytest.mark.parametrize(
    "row, field",
    [
        (["database", "orders\x00db"], "name"),
        (["data\x00base", "orders-db"], "type"),
        (["database", "orders-db", "Orders\x00"], "description"),
        (["database", "orders-db", "", '{"tier": "go\\u0000ld"}'], "labels"),
        (["database", "orders-db", "", "", '{"engine": "post\\u0000gres"}'], "attributes"),
        (["database", "orders-db", "", "", '{"engi\\u0000ne": "postgres"}'], "attributes"),
    ],
)
def test_nul_characters_in_import_rows_are_reported_not_a_500(world, api, row, field):
    api.as_user(world.user("developer"))
    response = upload(api, csv_file([row]))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == ROWS_INVALID and body["rows"][0]["field"] == field
    assert "\x00" not in body["rows"][0]["name"]
    assert not ConfigurationItem.objects.filter(tenant=world.acme, source="import").exists()


@pytest.mark.parametrize(
    "row, field",
    [
        ({"type": "database", "name": "db\ud800"}, "name"),
        ({"type": "database", "name": "db", "description": "half \ud800 a pair"}, "description"),
        ({"type": "database", "name": "db", "labels": {"tier": "\udfff"}}, "labels"),
        ({"type": "database", "name": "db", "attributes": {"\ud800": "postgres"}}, "attributes"),
        ({"type": "database", "name": "db", "attributes": {"n": "NaN"}}, "attributes"),
        ({"type": "database", "name": "db", "attributes": {"n": "-Infinity"}}, "attributes"),
    ],
)
@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_lone_surrogates_and_nan_in_a_json_file_are_reported_not_a_500(world, api, row, field, dry_run):
    """A JSON file is plain JSON: it may escape half a surrogate pair, or write NaN, which no API body
    carries (the API's parser refuses them) but psycopg and jsonb cannot take either."""
    text = json.dumps([row]).replace('"NaN"', "NaN").replace('"-Infinity"', "-Infinity")
    api.as_user(world.user("developer"))
    response = upload(api, SimpleUploadedFile("i.json", text.encode()), dry_run=dry_run)
    assert response.status_code == (200 if dry_run == "true" else 400), response.content  # a dry run reports
    body = response.json()
    assert body["rows"][0]["field"] == field and body["rows"][0]["action"] == "error", body
    assert not ConfigurationItem.objects.filter(tenant=world.acme, source="import").exists()


def test_nul_in_a_key_cell_and_in_inline_rows(world, api):
    api.as_user(world.user("developer"))
    out = "key,type,name\ndeclared/\x00x,database,db\n"
    response = upload(api, SimpleUploadedFile("items.csv", out.encode()), skip_invalid="true")
    assert response.status_code == 200 and response.json()["rows"][0]["field"] == "key"
    report = services.items_import(
        actor=world.principal("developer"),
        tenant=world.acme,
        skip_invalid=True,
        rows=[{"type": "queue", "name": "q\x00"}, {"type": "queue", "name": "fine"}],
    )
    assert [line["action"] for line in report["rows"]] == ["error", "create"]


def test_services_refuse_nul_and_deep_nesting_in_type_labels_and_attributes(world, api):
    developer, database = world.user("developer"), CIType.objects.get(slug="database")
    for fields, field in (
        ({"labels": {"tier": "a\x00"}}, "labels"),
        ({"labels": {"t\x00": "a"}}, "labels"),
        ({"attributes": {"engine": ["x", {"y": "\x00"}]}}, "attributes"),
        ({"description": "\x00"}, "description"),
    ):
        with pytest.raises(ApplicationError) as refused:
            services.item_declare(
                actor=as_principal(developer), tenant=world.acme, ci_type=database, name="db", **fields
            )
        assert refused.value.status == 400 and refused.value.field == field
    deep: dict = {}
    for _ in range(40):
        deep = {"a": deep}
    with pytest.raises(ApplicationError) as refused:
        services.item_update(actor=as_principal(developer), item=make_item(world.acme), attributes=deep)
    assert refused.value.field == "attributes" and "levels deep" in refused.value.message
    # The API's type field too, whatever the JSON parser lets through: a NUL type is unknown, not a 500.
    data = ItemCreateSerializer(
        data={"tenant": "acme", "type": "data\x00base", "name": "db"},
        context={"request": SimpleNamespace(user=developer, auth=None, META={})},
    )
    assert not data.is_valid() and "type" in data.errors


def test_an_upload_over_the_size_limit_is_a_413_naming_it(world, api, settings):
    settings.CMDB_IMPORT_MAX_BYTES = 4096
    api.as_user(world.user("developer"))
    response = upload(api, csv_file([["database", f"db-{n}", "x" * 100] for n in range(60)]))
    assert response.status_code == 413, response.content
    body = response.json()
    assert body["code"] == FILE_TOO_LARGE and "4 KiB" in body["detail"] and "CMDB_IMPORT_MAX_BYTES" in body["detail"]
    # Known from Content-Length alone: refused before the body is parsed, inline JSON included.
    rows = [{"type": "queue", "name": f"q{n}", "description": "x" * 200} for n in range(400)]
    response = api.post(URL, json.dumps({"tenant": "acme", "items": rows}), content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == FILE_TOO_LARGE


def test_more_rows_than_the_limit_is_a_400_naming_it(world, api, settings):
    settings.CMDB_IMPORT_MAX_ROWS = 10
    api.as_user(world.user("developer"))
    response = upload(api, csv_file([["queue", f"q{n}"] for n in range(11)]))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == TOO_MANY_ROWS and "10 rows" in body["detail"] and "CMDB_IMPORT_MAX_ROWS" in body["detail"]
    response = api.post(
        URL, {"tenant": "acme", "items": [{"type": "queue", "name": f"q{n}"} for n in range(11)]}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == TOO_MANY_ROWS
    assert upload(api, csv_file([["queue", f"q{n}"] for n in range(10)])).status_code == 200


def test_small_imports_answer_at_once_and_large_ones_queue_a_job(
    world, api, settings, django_capture_on_commit_callbacks
):
    settings.CMDB_IMPORT_SYNC_ROWS = 5
    api.as_user(world.user("developer"))
    small = upload(api, csv_file([["queue", f"q{n}"] for n in range(5)]), dry_run="true")
    assert small.status_code == 200 and small.json()["summary"]["create"] == 5
    with django_capture_on_commit_callbacks(execute=False) as queued:
        large = upload(api, csv_file([["queue", f"q{n}"] for n in range(6)]))
    assert large.status_code == 202, large.content
    body = large.json()
    assert body["state"] == "queued" and body["total"] == 6 and large["Location"] == body["status_url"]
    assert len(queued) == 1 and not ConfigurationItem.objects.filter(tenant=world.acme, name="q0").exists()
    assert api.get(body["status_url"]).json()["state"] == "queued"
    assert ImportJob.objects.get(pk=body["id"]).created_by == world.user("developer")
    # Another tenant's members cannot poll it.
    api.as_user(world.outsider)
    assert api.get(body["status_url"]).status_code == 404
