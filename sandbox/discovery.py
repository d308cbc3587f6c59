"""Discovery and OpenAPI: how clients learn which kinds exist and where.

Both discovery formats are served. kubectl 1.32 asks for aggregated discovery
(`apidiscovery.k8s.io/v2`, one document for all groups) and falls back to the legacy documents
(`/api`, `/apis`, then one `/apis/<group>/<version>` each); the official Python client's
DynamicClient reads the legacy ones.

OpenAPI v3 is served in a minimal form: per group-version, the PATCH operation of each kind with
its `x-kubernetes-group-version-kind` and the `fieldValidation` query parameter. That is exactly
what kubectl's apply and create check before they send a request; finding the parameter, kubectl
leaves validation to the server instead of downloading schemas. There are no schemas, so
`kubectl explain` does not work. `/openapi/v2` answers 501 with a Status that says so.
"""

import hashlib
import json

from .kinds import SUBRESOURCE_VERBS, VERBS, ResourceType, group_versions, resources_in

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
KUBERNETES_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sandbox",
    "gitCommit": "sandbox",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def wants_aggregated(accept: str) -> bool:
    for media_type in accept.split(","):
        params = {part.strip() for part in media_type.split(";")}
        if {"as=APIGroupDiscoveryList", "v=v2", "g=apidiscovery.k8s.io"} <= params:
            return True
    return False


def _subresources(rt: ResourceType) -> list[tuple[str, str, str, str, list[str]]]:
    """(name, group, version, kind, verbs) of each subresource."""
    found = []
    if rt.has_scale:
        found.append(("scale", "autoscaling", "v1", "Scale", SUBRESOURCE_VERBS))
    if rt.has_status:
        found.append(("status", rt.group, rt.version, rt.kind, SUBRESOURCE_VERBS))
    if rt.kind == "Pod":
        found.append(("log", "", "v1", "Pod", ["get"]))
    return found


def api_versions(server_address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict:
    groups = [_group(name, versions) for name, versions in group_versions().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> dict | None:
    versions = group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(group: str, version: str) -> dict | None:
    kinds = resources_in(group, version)
    if not kinds:
        return None
    resources = []
    for rt in kinds:
        entry = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": VERBS,
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub, sub_group, sub_version, sub_kind, verbs in _subresources(rt):
            resources.append(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "group": sub_group,
                    "version": sub_version,
                    "kind": sub_kind,
                    "verbs": verbs,
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def aggregated(core: bool) -> dict:
    """The APIGroupDiscoveryList for /api (core) or /apis (every named group)."""
    items = []
    for name, versions in group_versions().items():
        if bool(name) == core:
            continue
        entries = []
        for version in versions:
            resources = []
            for rt in resources_in(name, version):
                entry = {
                    "resource": rt.plural,
                    "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                    "scope": "Namespaced" if rt.namespaced else "Cluster",
                    "singularResource": rt.singular,
                    "verbs": VERBS,
                    "shortNames": list(rt.short_names),
                    "categories": list(rt.categories),
                    "subresources": [
                        {"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": verbs}
                        for sub, g, v, k, verbs in _subresources(rt)
                    ],
                }
                resources.append(entry)
            entries.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": name, "creationTimestamp": None}, "versions": entries})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


# --- OpenAPI v3 --------------------------------------------------------------------------------


def _path_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_document(group: str, version: str) -> dict | None:
    kinds = resources_in(group, version)
    if not kinds:
        return None
    prefix = "/" + _path_key(group, version)
    query = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    paths = {}
    for rt in kinds:
        scope = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        operation = {
            "operationId": f"patch{rt.kind}",
            "parameters": query,
            "requestBody": {
                "content": {
                    "application/apply-patch+yaml": {"schema": {"type": "object"}},
                    "application/merge-patch+json": {"schema": {"type": "object"}},
                    "application/strategic-merge-patch+json": {"schema": {"type": "object"}},
                    "application/json-patch+json": {"schema": {"type": "object"}},
                }
            },
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        }
        paths[f"{scope}/{{name}}"] = {
            "patch": operation,
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (sandbox)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def openapi_root() -> dict:
    paths = {}
    for name, versions in group_versions().items():
        for version in versions:
            digest = hashlib.sha256(json.dumps(openapi_document(name, version), sort_keys=True).encode())
            key = _path_key(name, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest.hexdigest()[:32].upper()}"}
    return {"paths": paths}
