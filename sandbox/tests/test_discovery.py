"""Discovery, as the official client and its DynamicClient read it."""

import json

import urllib3
from kubernetes import client, dynamic


def test_version_and_api_groups(api_client):
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.32")
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    groups = {g.name: g.preferred_version.group_version for g in client.ApisApi(api_client).get_api_versions().groups}
    assert groups == {
        "apps": "apps/v1",
        "networking.k8s.io": "networking.k8s.io/v1",
        "autoscaling": "autoscaling/v2",
        "batch": "batch/v1",
        "policy": "policy/v1",
        "rbac.authorization.k8s.io": "rbac.authorization.k8s.io/v1",
        "gateway.networking.k8s.io": "gateway.networking.k8s.io/v1",
    }


def test_resource_lists_name_every_kind_and_subresource(api_client):
    core = {r.name: r for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert {
        "namespaces",
        "pods",
        "services",
        "configmaps",
        "secrets",
        "resourcequotas",
        "limitranges",
        "events",
    } <= set(core)
    assert core["namespaces"].namespaced is False and core["pods"].namespaced is True
    assert "watch" in core["pods"].verbs and core["pods"].short_names == ["po"]
    apps = {r.name: r for r in client.AppsV1Api(api_client).get_api_resources().resources}
    scale = apps["deployments/scale"]
    assert (scale.group, scale.version, scale.kind) == ("autoscaling", "v1", "Scale")
    assert "deployments/status" in apps
    networking = {r.name for r in client.NetworkingV1Api(api_client).get_api_resources().resources}
    assert {"ingresses", "networkpolicies"} <= networking
    autoscaling = {r.name for r in client.AutoscalingV2Api(api_client).get_api_resources().resources}
    assert "horizontalpodautoscalers" in autoscaling


def test_aggregated_discovery_is_offered_to_clients_that_ask(cluster):
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    response = urllib3.request("GET", f"{cluster.url}/apis", headers={"Accept": accept})
    assert response.headers["Content-Type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    groups = {item["metadata"]["name"]: item for item in json.loads(response.data)["items"]}
    deployments = next(r for r in groups["apps"]["versions"][0]["resources"] if r["resource"] == "deployments")
    assert {s["subresource"] for s in deployments["subresources"]} == {"scale", "status"}
    legacy = json.loads(urllib3.request("GET", f"{cluster.url}/apis").data)
    assert legacy["kind"] == "APIGroupList"


def test_the_dynamic_client_discovers_and_applies(api_client, namespace):
    dyn = dynamic.DynamicClient(api_client)
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": {"LOG_LEVEL": "info"},
    }
    configmaps.server_side_apply(body=body, field_manager="paas-portal", force_conflicts=True)
    assert configmaps.get(name="settings", namespace=namespace).data.LOG_LEVEL == "info"
    ingresses = dyn.resources.get(api_version="networking.k8s.io/v1", kind="Ingress")
    assert ingresses.namespaced


def test_unknown_paths_get_a_not_found_status(cluster):
    response = urllib3.request("GET", f"{cluster.url}/apis/storage.k8s.io/v1/storageclasses")
    body = json.loads(response.data)
    assert response.status == 404
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "NotFound", 404)


def test_the_kubeconfig_helper_works_with_the_official_loader(cluster, tmp_path):
    from kubernetes import config

    api = config.new_client_from_config_dict(cluster.kubeconfig(namespace="default"))
    assert "default" in {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
    api.close()
    written = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    api = config.new_client_from_config(str(written))
    assert client.VersionApi(api).get_code().minor == "32"
    api.close()
