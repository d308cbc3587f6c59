"""Label and field selectors: parsed once per request into requirement tuples, then matched per object.

A requirement is `(key, operator, values)` with operator one of `=`, `!=`, `in`, `notin`, `exists`, `!`.
"""

import re

from .errors import bad_request

_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")
_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            break
        tokens.append(match.group(1))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


def parse_label_selector(text: str | None) -> list[tuple]:
    """`app=web,tier in (a,b),!legacy` -> requirements; 400 BadRequest on anything malformed."""
    if not text or not text.strip():
        return []
    tokens, requirements, i = _tokens(text), [], 0

    def fail():
        raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")

    while i < len(tokens):
        if tokens[i] == "!":
            if i + 1 >= len(tokens):
                fail()
            requirements.append((tokens[i + 1], "!", ()))
            i += 2
        else:
            key = tokens[i]
            op = tokens[i + 1] if i + 1 < len(tokens) else ","
            if op == ",":
                requirements.append((key, "exists", ()))
                i += 1
            elif op in ("=", "==", "!="):
                if i + 2 >= len(tokens) or tokens[i + 2] == ",":
                    requirements.append((key, "!=" if op == "!=" else "=", ("",)))
                    i += 2
                else:
                    requirements.append((key, "!=" if op == "!=" else "=", (tokens[i + 2],)))
                    i += 3
            elif op in ("in", "notin"):
                if i + 2 >= len(tokens) or tokens[i + 2] != "(":
                    fail()
                j, values = i + 3, []
                while j < len(tokens) and tokens[j] != ")":
                    if tokens[j] != ",":
                        values.append(tokens[j])
                    j += 1
                if j >= len(tokens):
                    fail()
                requirements.append((key, op, tuple(values)))
                i = j + 1
            else:
                fail()
        if i < len(tokens):
            if tokens[i] != ",":
                fail()
            i += 1
    return requirements


def selector_requirements(selector: dict | None) -> list[tuple]:
    """A LabelSelector object (matchLabels / matchExpressions) as requirements."""
    if not selector:
        return []
    requirements = [(k, "=", (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        operator = _OPERATORS.get(expression.get("operator"))
        if operator is None:
            raise bad_request(f"{expression.get('operator')!r} is not a valid label selector operator")
        requirements.append((expression.get("key"), operator, tuple(expression.get("values") or ())))
    return requirements


def labels_match(requirements: list[tuple], labels: dict | None) -> bool:
    labels = labels or {}
    for key, op, values in requirements:
        if op == "=":
            if labels.get(key) != values[0]:
                return False
        elif op == "!=":
            if labels.get(key) == values[0]:
                return False
        elif op == "in":
            if labels.get(key) not in values:
                return False
        elif op == "notin":
            if key in labels and labels[key] in values:
                return False
        elif op == "exists":
            if key not in labels:
                return False
        elif key in labels:
            return False
    return True


def selector_string(selector: dict | None) -> str:
    """The text form kubectl and Scale.status.selector use: `app=web,tier in (a,b)`."""
    parts = []
    for key, op, values in selector_requirements(selector):
        if op in ("=", "!="):
            parts.append(f"{key}{op}{values[0]}")
        elif op in ("in", "notin"):
            parts.append(f"{key} {op} ({','.join(values)})")
        else:
            parts.append(key if op == "exists" else f"!{key}")
    return ",".join(parts)


# The field labels the API server lets each kind be selected by (besides metadata.name and
# metadata.namespace); any other is a 400, as there, never an empty list.
FIELD_LABELS = {
    "Pod": {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "Event": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "Secret": {"type"},
    "Namespace": {"status.phase"},
    "Node": {"spec.unschedulable"},
    "ReplicaSet": {"status.replicas"},
    "Job": {"status.successful"},
    "Service": {"spec.clusterIP", "spec.type"},
}


def parse_field_selector(text: str | None, kind: str | None = None) -> list[tuple]:
    """`metadata.name=web,status.phase!=Running` -> (path, operator, value) requirements; a field the
    kind cannot be selected by is refused like the API server does."""
    if not text or not text.strip():
        return []
    requirements = []
    for term in text.split(","):
        match = re.match(r"^\s*([\w.\-/]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid field selector: {text!r}")
        path, op, value = match.groups()
        if kind is not None and path not in {"metadata.name", "metadata.namespace"} | FIELD_LABELS.get(kind, set()):
            raise bad_request(f"field label not supported: {path}")
        requirements.append((tuple(path.split(".")), "!=" if op == "!=" else "=", value))
    return requirements


def _field(obj: dict, path: tuple) -> str:
    value = obj
    for part in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fields_match(requirements: list[tuple], obj: dict) -> bool:
    return all((_field(obj, path) == value) == (op == "=") for path, op, value in requirements)


class Selection:
    """A request's label and field selectors together, matched against whole objects."""

    __slots__ = ("fields", "labels")

    def __init__(self, labels: list[tuple], fields: list[tuple]):
        self.labels = labels
        self.fields = fields

    def __bool__(self) -> bool:
        return bool(self.labels or self.fields)

    def matches(self, obj: dict) -> bool:
        if self.labels and not labels_match(self.labels, obj["metadata"].get("labels")):
            return False
        return not self.fields or fields_match(self.fields, obj)
