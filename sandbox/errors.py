"""Kubernetes `Status` failures, raised anywhere and turned into a response body in one place.

Clients branch on `reason` and `code` (the official client raises ApiException with them, kubectl
prints `message`), so the wording follows the real API server's.
"""

from .kinds import ResourceType


class APIError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(rt: ResourceType, name: str) -> dict:
    details = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    return details


def not_found(rt: ResourceType, name: str) -> APIError:
    return APIError(404, "NotFound", f'{rt.key} "{name}" not found', _details(rt, name))


def unknown_path() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt: ResourceType, name: str) -> APIError:
    return APIError(409, "AlreadyExists", f'{rt.key} "{name}" already exists', _details(rt, name))


def conflict(
    rt: ResourceType,
    name: str,
    why: str = "the object has been modified; please apply your changes to the latest version and try again",
) -> APIError:
    return APIError(409, "Conflict", f'Operation cannot be fulfilled on {rt.key} "{name}": {why}', _details(rt, name))


def apply_conflict(rt: ResourceType, name: str, conflicts: list[tuple[str, str]]) -> APIError:
    """Server-side apply found fields owned by other managers with other values; `force` would take them."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f'conflict with "{manager}" using {rt.api_version}',
            "field": field,
        }
        for manager, field in conflicts
    ]
    noun = "conflict" if len(conflicts) == 1 else "conflicts"
    lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
    message = f"Apply failed with {len(conflicts)} {noun}: " + (
        f"{causes[0]['message']}: {causes[0]['field']}" if len(causes) == 1 else lines
    )
    return APIError(409, "Conflict", message, {**_details(rt, name), "causes": causes})


def invalid(rt: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> APIError:
    """causes: (reason, field, message), e.g. ("FieldValueRequired", "spec.selector", "Required value")."""
    text = ", ".join(f"{field}: {message}" for _, field, message in causes)
    if len(causes) > 1:
        text = f"[{text}]"
    details = {
        "name": name,
        "kind": rt.kind,
        "causes": [{"reason": reason, "message": message, "field": field} for reason, field, message in causes],
    }
    if rt.group:
        details["group"] = rt.group
    return APIError(422, "Invalid", f'{rt.qualified_kind()} "{name}" is invalid: {text}', details)


def forbidden(rt: ResourceType, name: str, why: str) -> APIError:
    return APIError(403, "Forbidden", f'{rt.key} "{name}" is forbidden: {why}', _details(rt, name))


def expired(requested: int, oldest: int) -> APIError:
    return APIError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def method_not_allowed(verb: str) -> APIError:
    return APIError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({verb})"
    )


def unsupported_media_type(content_type: str) -> APIError:
    """The sandbox speaks JSON (and YAML for apply) only; protobuf bodies, which kubectl's `create <kind>`
    generators send, end here."""
    return APIError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - "
        f"accepted media types include: application/json, application/yaml, application/json-patch+json, "
        f"application/merge-patch+json, application/strategic-merge-patch+json, "
        f"application/apply-patch+yaml (got {content_type!r}; the sandbox does not speak protobuf)",
    )


def internal(message: str) -> APIError:
    return APIError(500, "InternalError", message)


def not_supported(what: str) -> APIError:
    """Something a real API server does that this stand-in does not: say so, rather than a bare 404."""
    return APIError(501, "NotImplemented", f"the sandbox cluster does not support {what}")
