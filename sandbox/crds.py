"""Custom resources served as an API server serves a CRD: pruned, defaulted and validated against the
CRD's structural OpenAPI v3 schema.

The schemas are data files in `schemas/` (see the README there: the Gateway API's HTTPRoute, from its
standard-channel CRD). For such a kind the API server:

- prunes fields the schema does not declare (unless `x-kubernetes-preserve-unknown-fields`), warning
  about them (`fieldValidation=Warn`, the default) or refusing them with 400 (`Strict`);
- fills in each `default` of an object that is present, on every write, so re-applying a manifest
  that leaves a defaulted field out changes nothing;
- refuses a value the schema does not allow (type, pattern, enum, length, bounds, required) with 422
  Invalid, every cause named by its field path (`spec.hostnames[0]`).

The CRDs' CEL rules (`x-kubernetes-validations`) are not evaluated: the sandbox has no CEL
interpreter, so an object only a CEL rule would refuse is accepted here (docs say so).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

from jsonschema import Draft4Validator

from .kinds import ResourceType

SCHEMAS = Path(__file__).with_name("schemas")
# (apiVersion, kind) -> the file holding its CRD version's openAPIV3Schema.
FILES = {("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_httproutes_v1.json"}
# The API server validates metadata itself; the CRD schema only says it is an object.
_METADATA = "metadata"


@functools.cache
def schema_of(api_version: str, kind: str) -> dict | None:
    name = FILES.get((api_version, kind))
    if name is None:
        return None
    return json.loads((SCHEMAS / name).read_text())["openAPIV3Schema"]


def is_custom(rt: ResourceType) -> bool:
    return (rt.api_version, rt.kind) in FILES


def _join(path: str, key) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


# --- pruning ----------------------------------------------------------------------------------


def unknown_fields(body: dict, schema: dict) -> list[str]:
    """Paths of the fields the structural schema does not declare, outside metadata."""
    found: list[str] = []

    def walk(value, node: dict, path: str) -> None:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            properties = node.get("properties")
            extra = node.get("additionalProperties")
            for key, item in value.items():
                if path == "" and key in (_METADATA, "apiVersion", "kind"):
                    continue
                where = _join(path, key)
                if properties is not None and key in properties:
                    walk(item, properties[key], where)
                elif isinstance(extra, dict):
                    walk(item, extra, where)
                elif properties is not None or extra is False:
                    found.append(where)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                walk(item, node["items"], _join(path, i))

    walk(body, schema, "")
    return found


def prune(body: dict, paths: list[str]) -> dict:
    body = copy.deepcopy(body)
    for path in paths:
        node, parts = body, _split(path)
        for part in parts[:-1]:
            node = node[part]
        node.pop(parts[-1], None)
    return body


def _split(path: str) -> list:
    parts: list = []
    for piece in path.split("."):
        name, _, rest = piece.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    return parts


# --- defaulting -------------------------------------------------------------------------------


def apply_defaults(obj: dict, schema: dict) -> None:
    """Fill in the schema's defaults, in place, for every object present (as the API server does)."""

    def walk(value, node: dict) -> None:
        if isinstance(value, dict):
            properties = node.get("properties") or {}
            for key, child in properties.items():
                if key not in value and "default" in child:
                    value[key] = copy.deepcopy(child["default"])
                if key in value:
                    walk(value[key], child)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                for key in value.keys() - properties.keys():
                    walk(value[key], extra)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for item in value:
                walk(item, node["items"])

    spec_schema = {key: child for key, child in (schema.get("properties") or {}).items() if key != _METADATA}
    walk(obj, {"properties": spec_schema})


# --- validation -------------------------------------------------------------------------------


def _openapi_to_jsonschema(node):
    """OpenAPI v3's `nullable` and Kubernetes' extensions mean nothing to a JSON Schema validator; the
    rest of a structural schema is draft-4 JSON Schema."""
    if isinstance(node, dict):
        result = {key: _openapi_to_jsonschema(value) for key, value in node.items() if not key.startswith("x-")}
        if node.get("nullable") and "type" in result:
            result["type"] = [result["type"], "null"]
        if node.get("x-kubernetes-int-or-string"):
            result.pop("type", None)
            result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        return result
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    return node


@functools.cache
def _validator(api_version: str, kind: str) -> Draft4Validator:
    schema = dict(_openapi_to_jsonschema(schema_of(api_version, kind)))
    schema["properties"] = {**schema["properties"], _METADATA: {"type": "object"}}
    return Draft4Validator(schema)


def _quoted(value) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool)) or value is None else repr(value)


def _cause(error) -> tuple[str, str, str]:
    """One jsonschema error as the API server words the cause: (reason, field, message)."""
    path = ""
    for key in error.absolute_path:
        path = _join(path, key)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        field = _join(path, missing)
        return "FieldValueRequired", field, "Required value"
    keyword, bound, value = error.validator, error.validator_value, error.instance
    words = {
        "pattern": "should match '{bound}'",
        "type": "must be of type {bound}",
        "maxLength": "should be at most {bound} chars long",
        "minLength": "should be at least {bound} chars long",
        "maximum": "should be less than or equal to {bound}",
        "minimum": "should be greater than or equal to {bound}",
        "maxItems": "should have at most {bound} items",
        "minItems": "should have at least {bound} items",
    }
    if keyword == "type" and isinstance(bound, list):
        bound = bound[0]
    why = f"{path} in body {words[keyword].format(bound=bound)}" if keyword in words else error.message
    if keyword == "enum":
        why = "supported values: " + ", ".join(_quoted(v) for v in bound)
    if keyword == "enum":
        return "FieldValueNotSupported", path, f"Unsupported value: {_quoted(value)}: {why}"
    if keyword in ("maxItems", "maxLength") and isinstance(value, (list, str)):
        return (
            "FieldValueTooLong",
            path,
            f"Too long: may have at most {bound} {'items' if isinstance(value, list) else 'bytes'}",
        )
    shown = _quoted(value) if not isinstance(value, (dict, list)) else f'"{type(value).__name__}"'
    return "FieldValueInvalid", path, f"Invalid value: {shown}: {why}"


def causes(rt: ResourceType, obj: dict) -> list[tuple[str, str, str]]:
    """Every cause of a 422 for `obj`, sorted by field as the API server lists them."""
    body = {key: value for key, value in obj.items() if key != "status"}
    errors = _validator(rt.api_version, rt.kind).iter_errors(body)
    return sorted({_cause(error) for error in errors}, key=lambda cause: (cause[1], cause[2]))
