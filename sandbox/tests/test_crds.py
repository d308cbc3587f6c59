"""HTTPRoute served as a cluster with the Gateway API's CRDs serves it: pruned, defaulted and
validated against the CRD's schema, with the API server's refusals."""

import json

import pytest
from kubernetes.client import ApiException, CustomObjectsApi

from .conftest import APPLY

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


@pytest.fixture
def custom(api_client):
    return CustomObjectsApi(api_client)


def http_route(name, **spec):
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "edge", "namespace": "gateways"}],
            "hostnames": ["shop.example.com"],
            "rules": [{"backendRefs": [{"name": "shop", "port": 8080}]}],
            **spec,
        },
    }


def apply(custom, namespace, body, **options):
    """Apply, then read back: the client maps only a 200 answer to a body, and an apply that creates is a 201."""
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        body["metadata"]["name"],
        body,
        field_manager="paas-portal",
        force=True,
        _content_type=APPLY,
        **options,
    )
    return custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body["metadata"]["name"])


def test_the_crds_defaults_are_filled_in_and_a_reapply_changes_nothing(custom, namespace):
    created = apply(custom, namespace, http_route("shop"))
    rule = created["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"][0] | {"group": "", "kind": "Service", "weight": 1} == rule["backendRefs"][0]
    assert created["spec"]["parentRefs"][0]["kind"] == "Gateway"
    again = apply(custom, namespace, http_route("shop"))
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert again["metadata"]["generation"] == 1


@pytest.mark.parametrize(
    "spec, field, words",
    [
        ({"hostnames": ["Shop_Example"]}, "spec.hostnames[0]", "should match"),
        (
            {"rules": [{"matches": [{"path": {"type": "Regex", "value": "/"}}]}]},
            "spec.rules[0].matches[0].path.type",
            "Unsupported value",
        ),
        (
            {"rules": [{"backendRefs": [{"name": "shop", "port": 70000}]}]},
            "spec.rules[0].backendRefs[0].port",
            "less than or equal to 65535",
        ),
        ({"rules": [{"timeouts": {"request": "ten seconds"}}]}, "spec.rules[0].timeouts.request", "should match"),
        ({"parentRefs": [{"namespace": "gateways"}]}, "spec.parentRefs[0].name", "Required value"),
    ],
)
def test_an_invalid_route_is_refused_with_422_naming_the_field(custom, namespace, spec, field, words):
    with pytest.raises(ApiException) as refused:
        apply(custom, namespace, http_route("bad", **spec))
    status = json.loads(refused.value.body)
    assert (refused.value.status, status["reason"]) == (422, "Invalid")
    assert status["message"].startswith('HTTPRoute.gateway.networking.k8s.io "bad" is invalid: ')
    causes = {cause["field"]: cause["message"] for cause in status["details"]["causes"]}
    assert field in causes and words in causes[field], causes
    with pytest.raises(ApiException) as missing:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "bad")
    assert missing.value.status == 404


def test_unknown_fields_are_pruned_with_a_warning_or_refused_when_strict(custom, namespace):
    body = http_route("typo")
    body["spec"]["rules"][0]["backendRef"] = [{"name": "x"}]
    with pytest.raises(ApiException) as refused:
        apply(custom, namespace, body, field_validation="Strict")
    assert refused.value.status == 400
    assert 'unknown field "spec.rules[0].backendRef"' in json.loads(refused.value.body)["message"]
    kept = apply(custom, namespace, body)
    assert "backendRef" not in kept["spec"]["rules"][0]
