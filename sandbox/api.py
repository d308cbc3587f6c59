"""The Kubernetes REST surface: paths to resources, HTTP verbs to reads and registry writes.

One handler serves every `/api` and `/apis` path: it parses the path once into
(resource type, namespace, name, subresource) and dispatches on the method, so a request costs
one route match, one body decode and one encode. Errors anywhere become a `Status` body.
"""

import base64
import json
import logging

import yaml
from aiohttp import web

from . import discovery, fields, logs, patching, watch
from .apply import apply
from .errors import (
    APIError,
    bad_request,
    conflict,
    internal,
    invalid,
    method_not_allowed,
    not_found,
    unknown_path,
    unsupported_media_type,
)
from .kinds import BY_PATH, PODS, ResourceType
from .matching import Selection, parse_field_selector, parse_label_selector
from .registry import now
from .store import encode
from .subresources import scale_of
from .tables import table

JSON = "application/json"
MERGE, STRATEGIC, JSON_PATCH, APPLY = (
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
log = logging.getLogger(__name__)
# Warnings for the response's `Warning` headers, gathered while a request is served.
WARNINGS = web.RequestKey("warnings", list)


def respond(body: dict, status: int = 200, content_type: str = JSON) -> web.Response:
    return web.Response(body=encode(body), status=status, content_type=content_type)


def error_response(error: APIError) -> web.Response:
    return respond(error.status(), error.code)


class Target:
    """What a resource path names: a collection (name None) or one object, maybe a subresource of it."""

    __slots__ = ("name", "namespace", "rt", "subresource")

    def __init__(self, rt: ResourceType, namespace: str | None, name: str | None, subresource: str | None):
        self.rt, self.namespace, self.name, self.subresource = rt, namespace, name, subresource


def _target(group: str, version: str, rest: list[str]) -> Target:
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_PATH:
        namespace, rest = rest[1], rest[2:]
    rt = BY_PATH.get((group, version, rest[0])) if rest else None
    if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
        raise unknown_path()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if (
        subresource not in (None, "status", "scale", "log")
        or (subresource == "scale" and not rt.has_scale)
        or (subresource == "status" and not rt.has_status)
        or (subresource == "log" and rt is not PODS)
    ):
        raise unknown_path()
    return Target(rt, namespace if rt.namespaced else "", name, subresource)


def _deleted_status(rt: ResourceType, obj: dict) -> dict:
    details = {"name": obj["metadata"]["name"], "kind": rt.plural, "uid": obj["metadata"]["uid"]}
    if rt.group:
        details["group"] = rt.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


class KubernetesAPI:
    def __init__(self, store, registry, output: logs.ContainerOutput, *, bookmark_interval: float = 1.0):
        self.store = store
        self.registry = registry
        self.output = output
        self.bookmark_interval = bookmark_interval

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            parts = [part for part in request.path.split("/") if part]
            accept = request.headers.get("Accept", "")
            if parts[0] == "api":
                if len(parts) <= 2:
                    return self._core_discovery(request, parts, accept)
                group, version, rest = "", parts[1], parts[2:]
            else:
                if len(parts) <= 3:
                    return self._group_discovery(parts, accept)
                group, version, rest = parts[1], parts[2], parts[3:]
            response = await self._serve(request, _target(group, version, rest), accept)
            for warning in request.get(WARNINGS, ()):
                # RFC 7234 warn-code 299, as the API server sends them; kubectl prints each as "Warning: ...".
                response.headers.add("Warning", "299 - " + json.dumps(warning))
            return response
        except APIError as error:
            return error_response(error)
        except Exception:
            log.exception("sandbox request %s %s failed", request.method, request.path_qs)
            return error_response(internal("Internal error occurred: the sandbox failed on this request; see its log"))

    # --- discovery ---------------------------------------------------------------------------

    def _core_discovery(self, request, parts, accept) -> web.Response:
        if len(parts) == 1:
            if discovery.wants_aggregated(accept):
                return respond(discovery.aggregated(core=True), content_type=discovery.AGGREGATED)
            return respond(discovery.api_versions(request.host))
        body = discovery.resource_list("", parts[1])
        if body is None:
            raise unknown_path()
        return respond(body)

    def _group_discovery(self, parts, accept) -> web.Response:
        if len(parts) == 1:
            if discovery.wants_aggregated(accept):
                return respond(discovery.aggregated(core=False), content_type=discovery.AGGREGATED)
            return respond(discovery.api_group_list())
        body = discovery.api_group(parts[1]) if len(parts) == 2 else discovery.resource_list(parts[1], parts[2])
        if body is None:
            raise unknown_path()
        return respond(body)

    # --- dispatch ----------------------------------------------------------------------------

    async def _serve(self, request: web.Request, target: Target, accept: str) -> web.StreamResponse:
        method, as_table = request.method, "as=Table" in accept
        if target.name is None:
            if method == "GET":
                if watch.flag(request.query.get("watch")):
                    return await watch.serve(
                        request,
                        self.store,
                        target.rt,
                        target.namespace,
                        self._selection(request, target),
                        as_table,
                        self.bookmark_interval,
                    )
                return self._list(request, target, as_table)
            if method == "POST":
                if target.namespace is None:
                    raise method_not_allowed("POST")
                return self._create(request, target, await self._body(request))
            if method == "DELETE":
                return self._delete_collection(request, target)
            raise method_not_allowed(method)
        if method == "GET" and target.subresource == "log":
            return await logs.serve(request, self.store, self.output, self._live(target))
        if method == "GET":
            return self._get(request, target, as_table)
        if target.subresource == "log":
            raise method_not_allowed(method)
        if method == "PUT":
            return self._replace(request, target, await self._body(request))
        if method == "PATCH":
            return self._patch(request, target, await request.read())
        if method == "DELETE":
            return self._delete(request, target, await request.read())
        raise method_not_allowed(method)

    @staticmethod
    async def _body(request: web.Request):
        if "protobuf" in request.content_type or "cbor" in request.content_type:
            raise unsupported_media_type(request.content_type)
        raw = await request.read()
        try:
            if request.content_type in ("application/yaml", "application/x-yaml", "text/yaml"):
                return yaml.load(raw, Loader=_YAML_LOADER)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as error:
            raise bad_request(f"the body of the request could not be decoded: {error}") from None

    @staticmethod
    def _selection(request: web.Request, target: Target) -> Selection:
        return Selection(
            parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(request.query.get("fieldSelector"), target.rt.kind),
        )

    @staticmethod
    def _manager(request: web.Request) -> str:
        """The field manager: as given, or (like the API server) the User-Agent's product name."""
        return request.query.get("fieldManager") or request.headers.get("User-Agent", "unknown").split("/")[0][:128]

    @staticmethod
    def _dry_run(request: web.Request) -> bool:
        return request.query.get("dryRun") == "All"

    @staticmethod
    def _decoded(request: web.Request, target: Target, body: dict) -> dict:
        """The body as the API server's decoder leaves it: unknown fields dropped (with a warning at the
        default level), or a 400 for them at `fieldValidation=Strict` and for wrongly typed values."""
        body, warnings = fields.decode(target.rt, body, request.query.get("fieldValidation"))
        request.setdefault(WARNINGS, []).extend(warnings)
        return body

    def _live(self, target: Target) -> dict:
        obj = self.store.get(target.rt, target.namespace, target.name)
        if obj is None:
            raise not_found(target.rt, target.name)
        return obj

    def _check_identity(self, target: Target, body) -> None:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be an object")
        rt = target.rt
        if body.get("apiVersion", rt.api_version) != rt.api_version or body.get("kind", rt.kind) != rt.kind:
            raise bad_request(
                f"the API version in the data ({body.get('apiVersion')}) and kind ({body.get('kind')}) "
                f"do not match the expected {rt.api_version} {rt.kind}"
            )
        metadata = body.get("metadata") or {}
        if target.name is not None and metadata.get("name", target.name) != target.name:
            raise bad_request(
                f"the name of the object ({metadata.get('name')}) does not match the name on the URL ({target.name})"
            )
        if target.rt.namespaced and metadata.get("namespace", target.namespace) != target.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")

    # --- reads -------------------------------------------------------------------------------

    def _get(self, request, target: Target, as_table: bool) -> web.Response:
        obj = self._live(target)
        if target.subresource == "scale":
            return respond(scale_of(obj))
        if as_table:
            return respond(
                table(
                    target.rt.kind,
                    [obj],
                    resource_version=obj["metadata"]["resourceVersion"],
                    include_object=request.query.get("includeObject", "Metadata"),
                )
            )
        return respond(obj)

    def _list(self, request, target: Target, as_table: bool) -> web.Response:
        selection = self._selection(request, target)
        items = self.store.list(target.rt, target.namespace or None)
        if selection:
            items = [obj for obj in items if selection.matches(obj)]
        rv = str(self.store.rv)
        token = request.query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                after, rv = tuple(state["after"]), state["rv"]
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid") from None
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        metadata = {"resourceVersion": rv}
        limit = int(request.query.get("limit") or 0)
        if 0 < limit < len(items):
            last = items[limit - 1]["metadata"]
            metadata["continue"] = base64.urlsafe_b64encode(
                json.dumps({"after": [last.get("namespace", ""), last["name"]], "rv": rv}).encode()
            ).decode()
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if as_table:
            return respond(
                table(
                    target.rt.kind,
                    items,
                    resource_version=rv,
                    continue_token=metadata.get("continue"),
                    include_object=request.query.get("includeObject", "Metadata"),
                )
            )
        return respond(
            {"kind": target.rt.list_kind, "apiVersion": target.rt.api_version, "metadata": metadata, "items": items}
        )

    # --- writes ------------------------------------------------------------------------------

    def _create(self, request, target: Target, body) -> web.Response:
        self._check_identity(target, body)
        body = self._decoded(request, target, body)
        obj = self.registry.create(
            target.rt, body, namespace=target.namespace, manager=self._manager(request), dry_run=self._dry_run(request)
        )
        return respond(obj, 201)

    def _replace(self, request, target: Target, body) -> web.Response:
        live = self._live(target)
        if target.subresource == "scale":
            return self._rescale(request, target, live, body)
        self._check_identity(target, body)
        body = self._decoded(request, target, body)
        expected = (body.get("metadata") or {}).get("resourceVersion")
        if expected and expected != live["metadata"]["resourceVersion"]:
            raise conflict(target.rt, target.name)
        obj = self.registry.update(
            target.rt,
            live,
            body,
            manager=self._manager(request),
            subresource=target.subresource,
            dry_run=self._dry_run(request),
        )
        return respond(obj)

    def _rescale(self, request, target: Target, live: dict, scale: dict) -> web.Response:
        expected = (scale.get("metadata") or {}).get("resourceVersion")
        if expected and expected != live["metadata"]["resourceVersion"]:
            raise conflict(target.rt, target.name)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            why = f"Invalid value: {replicas!r}: must be greater than or equal to 0"
            raise invalid(target.rt, target.name, [("FieldValueInvalid", "spec.replicas", why)])
        new = {**live, "spec": {**live["spec"], "replicas": replicas}}
        obj = self.registry.update(
            target.rt, live, new, manager=self._manager(request), subresource="scale", dry_run=self._dry_run(request)
        )
        return respond(scale_of(obj))

    def _patch(self, request, target: Target, raw: bytes) -> web.Response:
        content_type = request.content_type
        if content_type not in (MERGE, STRATEGIC, JSON_PATCH, APPLY):
            raise unsupported_media_type(content_type)
        try:
            patch = json.loads(raw) if content_type != APPLY or raw[:1] == b"{" else yaml.load(raw, _YAML_LOADER)
        except (ValueError, yaml.YAMLError) as error:
            raise bad_request(f"the body of the request could not be decoded: {error}") from None
        if content_type == APPLY:
            return self._apply(request, target, patch)
        live = self._live(target)
        base = scale_of(live) if target.subresource == "scale" else live
        if content_type == MERGE:
            new = patching.merge_patch(base, patch)
        elif content_type == STRATEGIC:
            new = patching.strategic_merge(base, patch)
        else:
            new = patching.json_patch(base, patch)
        if not isinstance(new, dict):
            raise bad_request("the patch must produce an object")
        expected = (new.get("metadata") or {}).get("resourceVersion")
        if expected is not None and expected != base["metadata"]["resourceVersion"]:
            raise conflict(target.rt, target.name)
        if target.subresource == "scale":
            return self._rescale(request, target, live, new)
        new = self._decoded(request, target, new)
        obj = self.registry.update(
            target.rt,
            live,
            new,
            manager=self._manager(request),
            subresource=target.subresource,
            dry_run=self._dry_run(request),
        )
        return respond(obj)

    def _apply(self, request, target: Target, applied) -> web.Response:
        manager = request.query.get("fieldManager")
        if not manager:
            raise invalid(
                target.rt,
                target.name,
                [("FieldValueRequired", "fieldManager", "Required value: is required for apply patch")],
            )
        self._check_identity(target, applied)
        if "apiVersion" not in applied or "kind" not in applied:
            raise bad_request("apply patches must set apiVersion and kind")
        if target.subresource != "scale":
            applied = self._decoded(request, target, applied)
        force, dry_run = watch.flag(request.query.get("force")), self._dry_run(request)
        live = self.store.get(target.rt, target.namespace, target.name)
        if target.subresource == "scale":
            if live is None:
                raise not_found(target.rt, target.name)
            return self._rescale(request, target, live, applied)
        if target.subresource == "status":
            if live is None:
                raise not_found(target.rt, target.name)
            new = {**live, "status": patching.merge_patch(live.get("status"), applied.get("status") or {})}
            return respond(self.registry.update(target.rt, live, new, subresource="status", dry_run=dry_run))
        metadata = {**(applied.get("metadata") or {}), "name": target.name}
        if target.rt.namespaced:
            metadata["namespace"] = target.namespace
        applied = {**applied, "metadata": metadata}
        obj = apply(live, applied, manager=manager, force=force, rt=target.rt, now=now())
        if live is None:
            return respond(
                self.registry.create(target.rt, obj, namespace=target.namespace, applied=True, dry_run=dry_run), 201
            )
        return respond(self.registry.update(target.rt, live, obj, applied=True, dry_run=dry_run))

    def _delete(self, request, target: Target, raw: bytes) -> web.Response:
        if target.subresource:
            raise method_not_allowed("DELETE")
        live = self._live(target)
        options = {}
        if raw.strip():
            try:
                options = json.loads(raw)
            except ValueError:
                raise bad_request("the body of the request could not be decoded as DeleteOptions") from None
        propagation = request.query.get("propagationPolicy") or options.get("propagationPolicy")
        if propagation is None and (options.get("orphanDependents") or request.query.get("orphanDependents") == "true"):
            propagation = "Orphan"
        if propagation not in (None, "Orphan", "Background", "Foreground"):
            raise bad_request(f"propagationPolicy {propagation!r} is not one of Orphan, Background, Foreground")
        obj = self.registry.delete(
            target.rt,
            live,
            propagation=propagation,
            preconditions=options.get("preconditions"),
            dry_run=self._dry_run(request),
        )
        if "deletionTimestamp" in obj["metadata"] or target.rt is PODS:
            return respond(obj)
        return respond(_deleted_status(target.rt, obj))

    def _delete_collection(self, request, target: Target) -> web.Response:
        selection = self._selection(request, target)
        propagation = request.query.get("propagationPolicy")
        for obj in self.store.list(target.rt, target.namespace or None):
            if selection.matches(obj):
                self.registry.delete(target.rt, obj, propagation=propagation, dry_run=self._dry_run(request))
        return respond({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
