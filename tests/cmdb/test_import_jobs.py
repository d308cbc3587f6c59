"""Large CMDB imports run on a real Celery worker (issue 12, item 12): the API answers 202 with a
status URL, the job's progress moves while it runs, and its end state, summary and invalid rows are
what the API and the job's page show. A dry run changes nothing; a bad row means nothing is kept."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cmdb.models import ConfigurationItem, ImportJob
from tests.conftest import wait_for

URL = "/api/v1/cmdb/items/import/"


@pytest.fixture
def small_sync(settings):
    settings.CMDB_IMPORT_SYNC_ROWS = 20  # read by the web side only: the worker runs what it is given


def csv_file(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["type", "name", "attributes"])
    writer.writerows(rows)
    return SimpleUploadedFile("items.csv", out.getvalue().encode())


def queues(n, prefix="q"):
    return [["queue", f"{prefix}{i}", '{"engine": "rabbitmq"}'] for i in range(n)]


def follow(api, url):
    """Poll the status URL until the job ends; returns (last body, every `processed` seen)."""
    seen = []

    def ended():
        body = api.get(url).json()
        seen.append(body["processed"])
        return body if body["state"] in ("succeeded", "failed") else None

    return wait_for(ended, timeout=90, interval=0.05), seen


def test_a_large_import_runs_in_the_background_with_progress(world, api, small_sync, celery_worker):
    api.as_user(world.user("developer"))
    response = api.post(URL, {"tenant": "acme", "file": csv_file(queues(400))}, format="multipart")
    assert response.status_code == 202, response.content
    body, seen = follow(api, response.json()["status_url"])
    assert body["state"] == "succeeded", body
    assert body["applied"] and body["summary"]["create"] == 400 and body["processed"] == 400
    assert body["percent"] == 100 and body["errors"] == []
    assert any(0 < processed < 400 for processed in seen), seen  # progress was visible while it ran
    assert ConfigurationItem.objects.filter(tenant=world.acme, source="import").count() == 400
    assert ImportJob.objects.get(pk=body["id"]).content == b""  # the upload is not kept


def test_a_background_dry_run_and_a_bad_row_change_nothing(world, api, small_sync, celery_worker):
    api.as_user(world.user("developer"))
    dry = api.post(URL, {"tenant": "acme", "file": csv_file(queues(30)), "dry_run": "true"}, format="multipart")
    assert dry.status_code == 202
    body, _ = follow(api, dry.json()["status_url"])
    assert (body["state"], body["applied"], body["summary"]["create"]) == ("succeeded", False, 30)
    assert "Dry run" in body["detail"]
    bad = queues(30) + [["nonsense", "what", ""], ["queue", "broken", '{"engine": 5}']]
    response = api.post(URL, {"tenant": "acme", "file": csv_file(bad)}, format="multipart")
    body, _ = follow(api, response.json()["status_url"])
    assert body["state"] == "failed" and not body["applied"] and "nothing was imported" in body["detail"]
    assert [(line["row"], line["field"]) for line in body["errors"]] == [(31, "type"), (32, "attributes")]
    assert not ConfigurationItem.objects.filter(tenant=world.acme, source="import").exists()


def test_the_import_page_sends_large_files_to_the_jobs_page(world, client, small_sync, celery_worker):
    client.force_login(world.user("developer"))
    response = client.post("/t/acme/cmdb/import/", {"file": csv_file(queues(25, "page-"))})
    assert response.status_code == 302
    job = ImportJob.objects.get(tenant=world.acme)
    assert response["Location"] == f"/t/acme/cmdb/import/{job.pk}/"
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).is_terminal, timeout=60)
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-job-state">Succeeded' in page and "25 of 25 rows processed" in page
    assert 'http-equiv="refresh"' not in page  # it stops refreshing once the job ends
    listing = client.get("/t/acme/cmdb/import/").content.decode()
    assert f"/t/acme/cmdb/import/{job.pk}/" in listing and "Files of up to" in listing
