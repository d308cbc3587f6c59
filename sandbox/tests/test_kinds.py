"""The kinds served as stored objects: workloads without pods of their own, policy, RBAC, Gateway API."""

from kubernetes import client, dynamic

LABELS = {"app": "db"}
TEMPLATE = {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}


def test_discovery_names_the_added_kinds(api_client):
    apps = {r.name: r for r in client.AppsV1Api(api_client).get_api_resources().resources}
    assert {"statefulsets", "statefulsets/scale", "statefulsets/status", "daemonsets", "daemonsets/status"} <= set(apps)
    assert apps["statefulsets"].short_names == ["sts"] and apps["daemonsets"].short_names == ["ds"]
    policy = {r.name: r for r in client.PolicyV1Api(api_client).get_api_resources().resources}
    assert policy["poddisruptionbudgets"].short_names == ["pdb"]
    rbac = {r.name: r.namespaced for r in client.RbacAuthorizationV1Api(api_client).get_api_resources().resources}
    assert rbac == {"roles": True, "rolebindings": True, "clusterroles": False, "clusterrolebindings": False}
    core = {r.name for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert "serviceaccounts" in core


def test_stateful_and_daemon_sets_are_stored_with_defaults(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    stateful = apps.create_namespaced_stateful_set(
        namespace,
        {
            "metadata": {"name": "db"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": LABELS}, "template": TEMPLATE},
        },
    )
    assert stateful.spec.replicas == 1 and stateful.spec.pod_management_policy == "OrderedReady"
    assert stateful.status.replicas == 0
    daemon = apps.create_namespaced_daemon_set(
        namespace, {"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": LABELS}, "template": TEMPLATE}}
    )
    assert daemon.spec.update_strategy.rolling_update.max_unavailable == 1
    assert daemon.status.number_ready == 0
    assert apps.read_namespaced_stateful_set_scale("db", namespace).spec.replicas == 1


def test_policy_rbac_and_gateway_objects_round_trip(api_client, namespace):
    dyn = dynamic.DynamicClient(api_client)
    objects = [
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "db"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": LABELS}},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "portal"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "portal", "namespace": namespace}],
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "edge"},
            "spec": {"gatewayClassName": "nginx", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "web"},
            "spec": {"parentRefs": [{"name": "edge"}], "hostnames": ["web.example"]},
        },
    ]
    for obj in objects:
        resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        resource.server_side_apply(
            body=obj,
            name=obj["metadata"]["name"],
            namespace=namespace,
            field_manager="paas-portal",
            force_conflicts=True,
        )
        stored = resource.get(name=obj["metadata"]["name"], namespace=namespace).to_dict()
        assert stored["metadata"]["uid"] and stored["kind"] == obj["kind"]
    binding = dyn.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="RoleBinding")
    # A service account's API group is the core group, "": omitted, as the API server returns it.
    assert "apiGroup" not in binding.get(name="reader", namespace=namespace).to_dict()["subjects"][0]
    cluster_role = dyn.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole")
    cluster_role.create(
        body={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{namespace}-viewer"},
            "rules": [],
        }
    )
    assert cluster_role.get(name=f"{namespace}-viewer").metadata.namespace is None
