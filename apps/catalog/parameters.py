"""Service-template parameters: the JSON schema an operator writes, and the values a tenant fills in.

Schemas are checked with the `jsonschema` package when a template is created, and values against
them when an application is made from it. Every property must be one the portal's form can render
(string, integer, boolean, or an enum of those), so each template can be filled in from the browser
as well as through the API.
"""

from __future__ import annotations

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from apps.core.errors import ApplicationError

from .validation import RELEASE_FIELDS, refuse

INVALID_PARAMETERS = "invalid_parameters"
FORM_TYPES = ("string", "integer", "boolean")
# A `port` parameter is the shorthand for a single port named "http"; it is what most templates ask.
PORT_PARAMETER = "port"


def _validator(schema: dict):
    return validator_for(schema, default=Draft202012Validator)(schema)


def schema_check(schema, field: str = "parameter_schema") -> dict:
    """Refuse a schema that is not valid JSON Schema, not an object of form-renderable properties, or
    whose property defaults break their own rules."""
    if not isinstance(schema, dict):
        raise refuse(field, "The parameter schema is a JSON object.")
    if not schema:
        return schema
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        raise refuse(field, f"Not a valid JSON schema: {exc.message}.") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties", {}), dict):
        raise refuse(field, 'The schema describes an object: {"type": "object", "properties": {...}}.')
    for name, prop in schema.get("properties", {}).items():
        _property_check(name, prop, field)
    missing = set(schema.get("required", [])) - set(schema.get("properties", {}))
    if missing:
        raise refuse(field, f"Required parameters without a property: {', '.join(sorted(missing))}.")
    return schema


def _property_check(name: str, prop, field: str) -> None:
    if not isinstance(prop, dict):
        raise refuse(field, f"The property “{name}” must be an object.")
    enum = prop.get("enum")
    if enum is not None:
        renderable = all(type(value) in (str, int, bool) for value in enum)
    else:
        renderable = prop.get("type") in FORM_TYPES
    if not renderable:
        raise refuse(
            field,
            f"The property “{name}” must be a string, integer, boolean or an enum of those, so the "
            "portal can show it as a form field.",
        )
    if "default" in prop and list(_validator(prop).iter_errors(prop["default"])):
        raise refuse(field, f"The default of “{name}” ({prop['default']!r}) does not meet its own schema.")


def parameters_check(schema: dict, parameters) -> dict:
    """The tenant's values with the schema's defaults filled in, or a refusal naming the parameter."""
    if not isinstance(parameters, dict):
        raise refuse("parameters", "Give the template's parameters as a JSON object.")
    values = {name: prop["default"] for name, prop in schema.get("properties", {}).items() if "default" in prop}
    values.update(parameters)
    errors = sorted(_validator(schema).iter_errors(values), key=lambda error: list(error.path)) if schema else []
    if errors:
        raise _parameter_error(errors[0])
    return values


def _parameter_error(error) -> ApplicationError:
    if error.validator == "required":
        name = next(n for n in error.validator_value if n not in error.instance)
        return ApplicationError(
            f"The parameter “{name}” is required.", code=INVALID_PARAMETERS, field=f"parameters.{name}"
        )
    if error.validator == "additionalProperties":
        return ApplicationError(f"Unknown parameter: {error.message}", code=INVALID_PARAMETERS, field="parameters")
    name = ".".join(str(part) for part in error.path)
    return ApplicationError(
        f"{name or 'parameters'}: {error.message}",
        code=INVALID_PARAMETERS,
        field=f"parameters.{name}" if name else "parameters",
    )


def release_fields(defaults: dict, parameters: dict) -> tuple[dict, dict]:
    """The first release's fields: the template's defaults overridden by the parameters named after a
    release field (and `port`). Returns (fields, which parameter set each field)."""
    fields, origin = dict(defaults), {}
    for name, value in parameters.items():
        if name == PORT_PARAMETER:
            fields["ports"], origin["ports"] = [{"name": "http", "port": value}], name
        elif name in RELEASE_FIELDS and value not in ("", None):
            fields[name], origin[name] = value, name
    return fields, origin
