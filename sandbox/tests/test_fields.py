"""Unknown and wrongly typed fields: refused, warned about or dropped as the API server does."""

import json

import pytest
import urllib3
from kubernetes.client import ApiException

from .conftest import APPLY, deployment


def test_strict_apply_refuses_an_unknown_field(apps, namespace):
    manifest = deployment("strict")
    manifest["spec"]["replica"] = 3
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment(
            "strict",
            namespace,
            manifest,
            field_manager="paas-portal",
            force=True,
            field_validation="Strict",
            _content_type=APPLY,
        )
    status = json.loads(refused.value.body)
    assert (refused.value.status, status["reason"]) == (400, "BadRequest")
    assert 'strict decoding error: unknown field "spec.replica"' in status["message"]
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("strict", namespace)
    assert missing.value.status == 404


def test_strict_create_names_every_unknown_field(cluster, namespace):
    manifest = deployment("typos")
    manifest["spec"]["replica"] = 3
    manifest["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    # Plain HTTP: the official client's models refuse unknown fields before sending them.
    response = urllib3.request(
        "POST",
        f"{cluster.url}/apis/apps/v1/namespaces/{namespace}/deployments?fieldValidation=Strict",
        body=json.dumps(manifest),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert json.loads(response.data)["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field '
        '"spec.template.spec.containers[0].imagee", unknown field "spec.replica"'
    )


def test_by_default_an_unknown_field_is_dropped_with_a_warning(cluster, namespace, apps):
    manifest = deployment("warned")
    manifest["spec"]["replica"] = 3
    response = urllib3.request(
        "POST",
        f"{cluster.url}/apis/apps/v1/namespaces/{namespace}/deployments",
        body=json.dumps(manifest),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201
    assert response.headers.getlist("Warning") == ['299 - "unknown field \\"spec.replica\\""']
    stored = apps.read_namespaced_deployment("warned", namespace).to_dict()
    assert stored["spec"]["replicas"] == 2
    raw = json.loads(
        urllib3.request("GET", f"{cluster.url}/apis/apps/v1/namespaces/{namespace}/deployments/warned").data
    )
    assert "replica" not in raw["spec"]


def test_ignore_drops_unknown_fields_silently(cluster, namespace):
    manifest = deployment("ignored")
    manifest["metadata"]["nickname"] = "x"
    response = urllib3.request(
        "PATCH",
        f"{cluster.url}/apis/apps/v1/namespaces/{namespace}/deployments/ignored?fieldManager=me&fieldValidation=Ignore",
        body=json.dumps(manifest),
        headers={"Content-Type": APPLY},
    )
    assert response.status == 201 and "Warning" not in response.headers
    assert "nickname" not in json.loads(response.data)["metadata"]


@pytest.mark.parametrize("level", ["Ignore", "Warn", "Strict"])
def test_a_wrongly_typed_value_is_refused_at_every_level(apps, namespace, level):
    manifest = deployment("typed")
    manifest["spec"]["replicas"] = "three"
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment(
            "typed",
            namespace,
            manifest,
            field_manager="paas-portal",
            force=True,
            field_validation=level,
            _content_type=APPLY,
        )
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct '
        "field DeploymentSpec.spec.replicas of type int32"
    )


def test_a_merge_patch_is_checked_on_the_object_it_produces(apps, namespace):
    apps.create_namespaced_deployment(namespace, deployment("patched"))
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment("patched", namespace, {"spec": {"paused": "yes"}})
    assert refused.value.status == 400 and "DeploymentSpec.spec.paused of type bool" in refused.value.body
