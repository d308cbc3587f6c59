"""batch/v1 CronJobs and Jobs: stored and served like every other kind, without a scheduler."""

import json

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from sandbox.tests.conftest import wait_for

from .conftest import APPLY


@pytest.fixture
def batch(api_client):
    return client.BatchV1Api(api_client)


def cron_job(name, schedule="*/5 * * * *", image="registry.example/report:1"):
    template = {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "report", "image": image}]}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": template}}},
    }


def apply_cron_job(batch, namespace, manifest):
    return batch.patch_namespaced_cron_job(
        manifest["metadata"]["name"], namespace, manifest, field_manager="paas-portal", force=True, _content_type=APPLY
    )


def test_discovery_lists_cron_jobs_and_jobs(batch):
    resources = {r.name: r for r in batch.get_api_resources().resources}
    assert resources["cronjobs"].short_names == ["cj"] and resources["cronjobs"].namespaced
    assert {"jobs", "cronjobs/status"} <= set(resources)


def test_server_side_apply_creates_lists_and_reapplies_a_cron_job(batch, namespace):
    created = apply_cron_job(batch, namespace, cron_job("report"))
    assert created.spec.schedule == "*/5 * * * *"
    assert created.spec.concurrency_policy == "Allow" and created.spec.suspend is False
    again = apply_cron_job(batch, namespace, cron_job("report"))
    assert again.metadata.resource_version == created.metadata.resource_version

    changed = apply_cron_job(batch, namespace, cron_job("report", schedule="0 3 * * *"))
    assert changed.metadata.generation == 2
    listed = batch.list_namespaced_cron_job(namespace, label_selector="app=report").items
    assert [(c.metadata.name, c.spec.schedule) for c in listed] == [("report", "0 3 * * *")]


def test_a_cron_job_without_a_schedule_is_invalid(batch, namespace):
    manifest = cron_job("report")
    del manifest["spec"]["schedule"]
    with pytest.raises(ApiException) as error:
        apply_cron_job(batch, namespace, manifest)
    body = json.loads(error.value.body)
    assert (error.value.status, body["reason"]) == (422, "Invalid")
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.schedule"]


def test_deleting_a_cron_job_removes_it_and_the_jobs_it_owns(batch, namespace):
    owner = apply_cron_job(batch, namespace, cron_job("report"))
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "report-1",
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": owner.metadata.uid}
            ],
        },
        "spec": cron_job("report")["spec"]["jobTemplate"]["spec"],
    }
    batch.create_namespaced_job(namespace, job)

    batch.delete_namespaced_cron_job("report", namespace)
    assert not batch.list_namespaced_cron_job(namespace).items
    wait_for(lambda: not batch.list_namespaced_job(namespace).items, timeout=5)
