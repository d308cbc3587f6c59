"""Unknown and wrongly typed fields, found as the API server's decoder finds them.

The API server decodes a request body into the kind's Go type: a field the type does not have is
dropped (`fieldValidation=Ignore`), dropped with a `Warning` header (`Warn`, the default when the
parameter is absent) or refused with 400 BadRequest (`Strict`, what kubectl sends by default); a
value of the wrong JSON type is a 400 whatever the level. The types come from the official OpenAPI
schemas that kubernetes-validate ships per Kubernetes version (the strict variant, where every
struct says `additionalProperties: false`), never from a list kept here.

This walks the schema rather than running a JSON Schema validator because what it reproduces is
decoding, not validation: `required` and `enum` are the 422 layer's business (validation.py), a
type error must name the Go struct the field sits in, and unknown fields must be pruned, which
needs their paths. Custom resources with a CRD schema in `schemas/` (the Gateway API's HTTPRoute)
are pruned by that schema (crds.py); other kinds without a shipped schema (Gateway) are taken as they
come, like a CRD that preserves unknown fields.
"""

import functools
import re

from kubernetes_validate.utils import SchemaNotFoundError, schema_contents

from . import crds
from .discovery import KUBERNETES_VERSION
from .errors import bad_request
from .kinds import ResourceType

# The schemas of the Kubernetes release the sandbox says it is.
SCHEMA_VERSION = f"{KUBERNETES_VERSION['major']}.{KUBERNETES_VERSION['minor']}.0"
LEVELS = ("Ignore", "Warn", "Strict")
_GO_TYPES = {
    "integer": "int64",
    "number": "float64",
    "string": "string",
    "boolean": "bool",
    "object": "map",
    "array": "slice",
}


def _file(name: str) -> dict:
    return schema_contents(f"kubernetes-json-schema/v{SCHEMA_VERSION}-local-strict/{name}", SCHEMA_VERSION)


@functools.cache
def _definitions() -> dict:
    return _file("_definitions.json")["$defs"]


@functools.cache
def _kind_schema(api_version: str, kind: str) -> dict | None:
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1.
    suffix = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        return _file(f"{kind.lower()}-{suffix}.json")
    except (FileNotFoundError, SchemaNotFoundError):
        return None


def _resolve(schema: dict) -> tuple[dict, str | None]:
    """Follow $ref links; return the schema and the Go type it names (`v1.LabelSelector`), if any."""
    name = None
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = _definitions()[name]
    return schema, ".".join(name.rsplit(".", 2)[-2:]) if name else None


def _types(schema: dict) -> set[str]:
    if "oneOf" in schema:  # IntOrString, Quantity
        return set().union(*(_types(option) for option in schema["oneOf"]))
    declared = schema.get("type")
    return set(declared if isinstance(declared, list) else [declared] if declared else [])


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", dict: "object", list: "array"}.get(type(value), "null")


def _fits(value, types: set[str]) -> bool:
    if value is None or not types:
        return True
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool(types & {"integer", "number"})
    if isinstance(value, float):
        return "number" in types or ("integer" in types and value.is_integer())
    return {str: "string", dict: "object", list: "array"}.get(type(value)) in types


def _join(path: str, key) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key


class _Walk:
    """One pass over a body: unknown field paths, and the first wrongly typed value as a message."""

    def __init__(self):
        self.unknown: list[str] = []
        self.wrong: str | None = None

    def value(self, value, schema: dict, path: str, struct: str) -> None:
        """`struct`: the Go struct the value is a field of, as decoding errors name it."""
        schema, go_type = _resolve(schema)
        types = _types(schema)
        if not _fits(value, types):
            if self.wrong is None:
                go = go_type or schema.get("format") or _GO_TYPES.get(sorted(types - {"null"})[0], "value")
                self.wrong = (
                    f"json: cannot unmarshal {_json_type(value)} into Go struct field {struct}.{path} of type {go}"
                )
            return
        if go_type and isinstance(value, dict):
            struct = go_type.rsplit(".", 1)[-1]
        if isinstance(value, dict):
            self.object(value, schema, path, struct)
        elif isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.value(item, schema["items"], _join(path, i), struct)

    def object(self, value: dict, schema: dict, path: str, struct: str) -> None:
        properties, extra = schema.get("properties"), schema.get("additionalProperties")
        for key, item in value.items():
            where = _join(path, key)
            if properties and key in properties:
                self.value(item, properties[key], where, struct)
            elif isinstance(extra, dict):
                self.value(item, extra, where, struct)
            elif properties is not None or extra is False:
                self.unknown.append(where)


def _prune(body: dict, path: str) -> None:
    """Drop the field at a dotted path (list items as `[i]`) from body, in place."""
    keys = [int(part[1:-1]) if part.startswith("[") else part for part in re.findall(r"\[\d+\]|[^.\[\]]+", path)]
    node = body
    for key in keys[:-1]:
        node = node[key]
    node.pop(keys[-1], None)


def _copy(value):
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def decode(rt: ResourceType, body: dict, level: str | None) -> tuple[dict, list[str]]:
    """(body as the API server would keep it, warnings to send) for a body written at `level`.

    Raises 400 BadRequest for a wrongly typed value, and for unknown fields when the level is Strict.
    """
    level = level or "Warn"
    if level not in LEVELS:
        raise bad_request(f'fieldValidation parameter {level!r} is invalid: must be one of "Ignore", "Warn", "Strict"')
    handled = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}'
    custom = crds.schema_of(rt.api_version, rt.kind)
    if custom is not None:  # a CRD: wrong types are the 422 layer's (crds.causes); unknown fields are pruned
        unknown = crds.unknown_fields(body, custom)
        messages = [f'unknown field "{path}"' for path in unknown]
        if unknown and level == "Strict":
            raise bad_request(f"{handled}: strict decoding error: {', '.join(messages)}")
        return (crds.prune(body, unknown), messages if level == "Warn" else []) if unknown else (body, [])
    schema = _kind_schema(rt.api_version, rt.kind)
    if schema is None:
        return body, []
    walk = _Walk()
    walk.object(body, _resolve(schema)[0], "", rt.kind)
    if walk.wrong:
        raise bad_request(f"{handled}: {walk.wrong}")
    if not walk.unknown:
        return body, []
    messages = [f'unknown field "{path}"' for path in walk.unknown]
    if level == "Strict":
        raise bad_request(f"{handled}: strict decoding error: {', '.join(messages)}")
    body = _copy(body)
    for path in walk.unknown:
        _prune(body, path)
    return body, messages if level == "Warn" else []
