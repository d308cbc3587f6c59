"""The three patch formats before server-side apply: JSON merge, strategic merge and JSON patch.

Merge and strategic merge build new dicts along the paths they touch and share everything else
with the stored object (see `store.py`); JSON patch edits in place, so it works on a copy.

Strategic merge needs to know which lists merge by key. Kubernetes reads that from Go struct tags;
the sandbox keeps the table for the fields the portal and kubectl touch (`merge_key`). Lists not in
the table are replaced whole, as Kubernetes does for lists without a patch strategy.
"""

from .errors import APIError

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_NAME_KEYED = {*_CONTAINER_LISTS, "volumes", "imagePullSecrets", "env", "resourceClaims"}
_PRIMITIVE_SETS = {("metadata", "finalizers")}


def merge_key(path: tuple) -> str | None:
    """The field that identifies items of the list at `path` (field names from the root), if it merges."""
    if not path:
        return None
    last = path[-1]
    if last in _NAME_KEYED:
        return "name"
    if last == "ports":
        if len(path) > 1 and path[-2] in _CONTAINER_LISTS:
            return "containerPort"
        return "port" if path == ("spec", "ports") else None
    return {
        "volumeMounts": "mountPath",
        "volumeDevices": "devicePath",
        "conditions": "type",
        "hostAliases": "ip",
        "topologySpreadConstraints": "topologyKey",
        "ownerReferences": "uid",
    }.get(last)


def is_primitive_set(path: tuple) -> bool:
    return path in _PRIMITIVE_SETS


def clone(value):
    """A deep copy of plain JSON data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, everything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(original, patch, path: tuple = ()):
    """Strategic merge patch with the directives kubectl sends: `$patch` (replace, delete),
    `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys`."""
    if not isinstance(patch, dict):
        return patch
    directive = patch.get("$patch")
    if directive == "replace":
        return _without_directives(patch)
    if directive == "delete":
        return None
    result = dict(original) if isinstance(original, dict) else {}
    orders = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [item for item in result.get(field) or [] if item not in value]
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, path + (key,))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, path + (key,))
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, merge_key(path + (field,)))
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_list(original, patch: list, path: tuple) -> list:
    if is_primitive_set(path):
        merged = list(original or [])
        return merged + [item for item in patch if item not in merged]
    replace = [item for item in patch if isinstance(item, dict) and item.get("$patch") == "replace"]
    key = merge_key(path)
    if key is None or replace:
        return [_without_directives(item) for item in patch if item not in replace]
    result = list(original or [])
    for item in patch:
        if not isinstance(item, dict):
            continue
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item, path))
        else:
            result[index] = strategic_merge(result[index], item, path)
    return result


def _reorder(items: list, order: list, key: str | None) -> list:
    def identity(item):
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [identity(entry) for entry in order]
    ranked = sorted(
        (wanted.index(identity(item)) if identity(item) in wanted else len(wanted), position, item)
        for position, item in enumerate(items)
    )
    return [item for _, _, item in ranked]


def _without_directives(value):
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return value


# --- JSON patch (RFC 6902) ----------------------------------------------------------------------


def _invalid(message: str) -> APIError:
    return APIError(422, "Invalid", f"the server rejected our request due to an error in our request: {message}")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _invalid(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc, parts: list[str], path: str):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _invalid(f"doc is missing path: {path!r}")
    return node


def _get(doc, path: str):
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _invalid(f"doc is missing path: {path!r}")


def _remove(doc, path: str):
    parts = _pointer(path)
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _invalid(f"unable to remove nonexistent key: {path!r}")


def _add(doc, path: str, value, replace: bool = False):
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise _invalid(f"replace operation does not apply: doc is missing key: {path!r}")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent) - (1 if replace else 0):
            if replace:
                parent[int(last)] = value
            else:
                parent.insert(int(last), value)
        else:
            raise _invalid(f"index out of range in path {path!r}")
    else:
        raise _invalid(f"doc is missing path: {path!r}")
    return doc


def json_patch(target: dict, operations) -> dict:
    """Apply RFC 6902 operations (add, remove, replace, move, copy, test) to a copy of target."""
    if not isinstance(operations, list):
        raise _invalid("a JSON patch must be a list of operations")
    doc = clone(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise _invalid(f"invalid operation {operation!r}")
        op, path = operation["op"], operation["path"]
        if op == "add":
            doc = _add(doc, path, clone(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            doc = _add(doc, path, clone(operation.get("value")), replace=True)
        elif op == "move":
            doc = _add(doc, path, _remove(doc, operation["from"]))
        elif op == "copy":
            doc = _add(doc, path, clone(_get(doc, operation["from"])))
        elif op == "test":
            if _get(doc, path) != operation.get("value"):
                raise _invalid(f"testing value {path} failed")
        else:
            raise _invalid(f"unexpected operation {op!r}")
    return doc
