"""The access log (each request's authorization attributes) and the shape checks of policy, network
policy and RBAC objects, as the API server refuses them."""

import json

import pytest
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from sandbox import SandboxCluster
from sandbox.access import attributes

APPLY = "application/apply-patch+yaml"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/a/pods", {}, ("list", "", "pods", "", True)),
        ("GET", "/api/v1/pods", {"watch": "true"}, ("watch", "", "pods", "", False)),
        ("GET", "/api/v1/namespaces/a/pods/p/log", {}, ("get", "", "pods", "log", True)),
        ("GET", "/api/v1/namespaces/a", {}, ("get", "", "namespaces", "", False)),
        ("PUT", "/api/v1/namespaces/a/status", {}, ("update", "", "namespaces", "status", False)),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/a/deployments/web/scale",
            {},
            ("patch", "apps", "deployments", "scale", True),
        ),
        ("DELETE", "/apis/apps/v1/namespaces/a/deployments", {}, ("deletecollection", "apps", "deployments", "", True)),
        ("DELETE", "/apis/apps/v1/namespaces/a/deployments/web", {}, ("delete", "apps", "deployments", "", True)),
        (
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {},
            ("create", "rbac.authorization.k8s.io", "clusterroles", "", False),
        ),
        ("GET", "/apis/apps/v1/watch/namespaces/a/deployments", {}, ("watch", "apps", "deployments", "", True)),
    ],
)
def test_attributes_are_what_the_api_servers_authorizer_sees(method, path, query, expected):
    access = attributes(method, path, query, "paas-portal/1.0 (linux)")
    assert (access.verb, access.group, access.resource, access.subresource, access.namespaced) == expected
    assert access.agent == "paas-portal" and access.non_resource == ""


def test_discovery_is_a_non_resource_url():
    access = attributes("GET", "/apis/apps/v1", {}, "kubectl/v1.37.0 (linux/amd64)")
    assert access.non_resource == "/apis/apps/v1" and access.agent == "kubectl" and access.resource == ""


def test_the_log_counts_calls_by_agent_and_an_apply_that_creates_as_create_too(tmp_path):
    log = tmp_path / "access.jsonl"
    with SandboxCluster(access_log=log) as cluster:
        api = cluster.api_client()
        api.user_agent = "tester/1"
        core = client.CoreV1Api(api)
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
        for _ in range(2):
            core.patch_namespaced_config_map("c", "default", body, field_manager="t", _content_type=APPLY)
        core.list_namespaced_pod("default")
        entries = {
            (e["verb"], e["resource"]): e["count"]
            for e in cluster.access()
            if e["agent"] == "tester" and not e["non_resource"]
        }
        api.close()
    # Two applies: both authorized as patch, the first (which created the object) as create too.
    assert entries == {("patch", "configmaps"): 2, ("create", "configmaps"): 1, ("list", "pods"): 1}
    written = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(e["verb"], e["resource"], e["count"]) for e in written if e["agent"] == "tester"} == {
        ("patch", "configmaps", 2),
        ("create", "configmaps", 1),
        ("list", "pods", 1),
    }


def _refused(api_client, namespace, obj) -> str:
    dyn = dynamic.DynamicClient(api_client)
    resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    with pytest.raises(DynamicApiError) as refused:
        resource.create(body=obj, namespace=namespace if resource.namespaced else None)
    return json.loads(refused.value.body)["message"]


def test_a_budget_with_both_bounds_or_a_bad_percentage_is_invalid(api_client, namespace):
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b"}}
    both = _refused(api_client, namespace, {**pdb, "spec": {"minAvailable": 1, "maxUnavailable": 1}})
    assert "minAvailable and maxUnavailable cannot be both set" in both
    assert 'spec.maxUnavailable: Invalid value: "half"' in _refused(
        api_client, namespace, {**pdb, "spec": {"maxUnavailable": "half"}}
    )


def test_a_network_policy_with_an_unknown_type_an_empty_peer_or_a_bad_cidr_is_invalid(api_client, namespace):
    message = _refused(
        api_client,
        namespace,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "n"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Sideways"],
                "ingress": [{"from": [{}], "ports": [{"protocol": "ICMP", "port": 80}]}],
                "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}],
            },
        },
    )
    assert 'spec.policyTypes[1]: Unsupported value: "Sideways"' in message
    assert "spec.ingress[0].from[0]: Required value: must specify a peer" in message
    assert 'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP"' in message
    assert 'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0/33"' in message


def test_rbac_rules_need_verbs_groups_and_resources_and_bindings_a_role(api_client, namespace):
    rbac = "rbac.authorization.k8s.io/v1"
    message = _refused(
        api_client,
        namespace,
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "r"}, "rules": [{"resources": ["pods"]}]},
    )
    assert "rules[0].verbs: Required value: verbs must contain at least one value" in message
    assert "rules[0].apiGroups: Required value: resource rules must supply at least one api group" in message
    namespaced = _refused(
        api_client,
        namespace,
        {
            "apiVersion": rbac,
            "kind": "Role",
            "metadata": {"name": "r"},
            "rules": [{"nonResourceURLs": ["/x"], "verbs": ["get"]}],
        },
    )
    assert "namespaced rules cannot apply to non-resource URLs" in namespaced
    binding = _refused(
        api_client,
        namespace,
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": rbac.split("/")[0], "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "portal"}],
        },
    )
    assert 'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"' in binding
    assert "subjects[0].namespace: Required value" in binding


def test_a_bindings_role_cannot_change(api_client, namespace):
    rbac = client.RbacAuthorizationV1Api(api_client)
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    body = {"metadata": {"name": "b"}, "roleRef": ref, "subjects": [{"kind": "User", "name": "ann"}]}
    rbac.create_namespaced_role_binding(namespace, body)
    with pytest.raises(client.ApiException) as refused:
        rbac.patch_namespaced_role_binding("b", namespace, {"roleRef": {**ref, "name": "edit"}})
    assert refused.value.status == 422 and "cannot change roleRef" in json.loads(refused.value.body)["message"]
