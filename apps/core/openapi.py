"""Schema post-processing: every operation documents the API's one error shape.

Errors are `{"code", "detail"}` plus `fields` for validation errors (apps/core/api.py). The schema
says so once, as the `Error` component, and gives every operation a `default` response of that
shape, so clients and the API fuzzer know what any non-success status carries. An operation that
documents a 4xx body of its own (an import report, say) may still answer with the Error shape, for
instance when the input does not parse; such responses read "this or Error".
"""

from drf_spectacular import openapi
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error response. `code` is stable and machine-readable (invalid, not_found, "
    "not_authenticated, invalid_key, permission_denied, missing_scope, conflict, throttled, "
    "idempotency_key_reused, ...); `detail` is for people; `fields` names each invalid field.",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "detail": {"type": "string", "example": "The request has invalid fields."},
        "fields": {
            "type": "object",
            "additionalProperties": True,
            "example": {"replicas": ["Ensure this value is less than or equal to 100."]},
        },
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DEFAULT_RESPONSE = {
    "description": "An error (4xx or 5xx): one JSON shape with a stable `code`.",
    "content": {"application/json": {"schema": ERROR_REF}},
}
METHODS = ("get", "put", "patch", "post", "delete", "head", "options")


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Error component and a default response everywhere."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("default", DEFAULT_RESPONSE)
            for status, response in responses.items():
                if str(status).startswith("4"):
                    _or_error(response)
    return result


def _or_error(response: dict) -> None:
    media = response.get("content", {}).get("application/json")
    if media and "schema" in media and media["schema"] != ERROR_REF and "anyOf" not in media["schema"]:
        media["schema"] = {"anyOf": [media["schema"], ERROR_REF]}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, saying what our serializers refuse so that a request the schema
    calls valid is one the API accepts: a related row by slug is never an empty string (DRF reads ""
    as null there), a list that may not be empty has at least one item, and a serializer that refuses
    unknown fields (`refuses_unknown_fields`) allows no additional properties. Blank text fields get
    minLength 1 from drf-spectacular itself (COMPONENT_SPLIT_REQUEST). Requests only: responses
    say what they hold."""

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        # A view that finds its row by id or by name (NamedLookupMixin) says so of its {id}.
        noun = getattr(self.view, "lookup_by_name", "")
        for parameter in parameters if noun else []:
            if parameter["name"] in ("id", "pk"):
                parameter["schema"] = {
                    "oneOf": [
                        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                        {"type": "string", "minLength": 1, "pattern": "^[^/.]*[^/.0-9][^/.]*$"},
                    ]
                }
                parameter["description"] = (
                    f"The {noun}'s id, or its name (looked up in `tenant` when given; a name two of your "
                    "tenants share needs it)."
                )
        return parameters

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # A serializer that answers "Unknown field." to a name it does not declare says so.
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if direction != "request" or field.read_only:
            return meta
        if isinstance(field, serializers.SlugRelatedField) and not field.allow_null:
            meta.setdefault("minLength", 1)
        if (
            isinstance(field, serializers.ListField | serializers.ManyRelatedField | serializers.MultipleChoiceField)
            and not field.allow_empty
        ):
            meta.setdefault("minItems", 1)
        return meta


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: a created row links to every operation on it.

    A 201 of `POST /x/` whose body has the new row's `id` (or `slug`) gets an OpenAPI link to each
    operation under `/x/{id}/`, so clients and the fuzzer's stateful phase can follow create -> read
    -> change -> delete with the real id (and check that a deleted row stays gone).
    """
    schemas = result.get("components", {}).get("schemas", {})
    paths = result.get("paths", {})
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        body = _resolve(schemas, (created or {}).get("content", {}).get("application/json", {}).get("schema"))
        for key in ("id", "slug"):
            if key not in body.get("properties", {}):
                continue
            prefix = f"{path}{{{key}}}/"
            links = {}
            for target, operations in paths.items():
                if not target.startswith(prefix):
                    continue
                for method, operation in operations.items():
                    if method in METHODS and "operationId" in operation:
                        links[operation["operationId"]] = {
                            "operationId": operation["operationId"],
                            "parameters": {key: f"$response.body#/{key}"},
                        }
            if links:
                created["links"] = links
                break
    return result


def _resolve(schemas: dict, schema: dict | None) -> dict:
    if not schema:
        return {}
    if "$ref" in schema:
        return schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema
