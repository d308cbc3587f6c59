"""What the sandbox does not do, it says, in the API server's own Status shape, instead of a bare 404
or an empty answer that looks like a real one."""

import json
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from kubernetes import client
from kubernetes.client import ApiException


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def test_a_field_selector_on_a_field_the_kind_cannot_be_selected_by_is_a_400(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "one"}})
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_config_map(namespace, field_selector="data.colour=blue")
    assert refused.value.status == 400
    assert status_of(refused.value)["message"] == "field label not supported: data.colour"
    pods = core.list_namespaced_pod(namespace, field_selector="status.phase=Running,metadata.name=x").items
    assert pods == []  # a supported field label still filters
    assert [
        c.metadata.name for c in core.list_namespaced_config_map(namespace, field_selector="metadata.name=one").items
    ] == ["one"]


@pytest.mark.parametrize(
    "path, words",
    [
        ("/api/v1/namespaces/{ns}/pods/web/exec?command=sh", "does not support exec"),
        ("/api/v1/namespaces/{ns}/pods/web/portforward?ports=80", "does not support port-forward"),
        ("/api/v1/namespaces/{ns}/services/web/proxy/healthz", "does not support proxying"),
        ("/openapi/v2", "OpenAPI v3"),
    ],
)
def test_exec_port_forward_proxy_and_openapi_v2_say_they_are_not_supported(cluster, namespace, path, words):
    method = "POST" if "exec" in path else "GET"
    with pytest.raises(HTTPError) as refused:
        urlopen(Request(cluster.url + path.format(ns=namespace), method=method), timeout=5)
    body = json.loads(refused.value.read())
    assert refused.value.code == 501 and body["kind"] == "Status" and words in body["message"]


def test_auth_can_i_answers_truthfully_that_the_sandbox_allows_everything(api_client):
    review = client.AuthorizationV1Api(api_client).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(verb="create", resource="namespaces")
            )
        )
    )
    assert review.status.allowed is True and "no RBAC" in review.status.reason
