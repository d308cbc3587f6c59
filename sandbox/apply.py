"""Server-side apply and a light `managedFields`.

Each manager's fields are kept as a set of paths in the FieldsV1 notation Kubernetes uses
(`f:spec`, `k:{"name":"web"}`, `v:"x"`, `.` for a list item itself). That is enough for what
clients rely on:

- applying sets the applied fields, removes fields the same manager applied before and no longer
  does (unless another manager also owns them), and creates the object when it is missing;
- a field owned by another manager with a different value is a 409 conflict unless `force` is
  set, which moves ownership to the applier;
- other writes (create, update, patch) move the fields they change to their manager, so a later
  apply can see who changed what;
- applying the same manifest again changes nothing, so generation and resourceVersion stay put.

What is light about it: list items are identified by one key field (a container port by
`containerPort`, not by port and protocol), status is not tracked, and controllers' own writes
record no manager.
"""

import json

from .errors import apply_conflict
from .kinds import ResourceType
from .patching import is_primitive_set, merge_key

_SKIPPED_TOP = {"apiVersion", "kind", "status"}
_SKIPPED_METADATA = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
}
_MISSING = object()
_REMOVE = object()


def _key_segment(key: str, item: dict) -> str:
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))


def leaves(obj: dict) -> dict[tuple, object]:
    """Every field path of obj that a manager can own, with its value (True for list-item presence)."""
    found: dict[tuple, object] = {}
    for key, value in obj.items():
        if key in _SKIPPED_TOP:
            continue
        if key == "metadata":
            for meta_key, meta_value in (value or {}).items():
                if meta_key not in _SKIPPED_METADATA:
                    _walk(meta_value, ("f:metadata", "f:" + meta_key), ("metadata", meta_key), found)
        else:
            _walk(value, ("f:" + key,), (key,), found)
    return found


def _walk(value, path: tuple, names: tuple, found: dict) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _walk(child, path + ("f:" + key,), names + (key,), found)
        return
    if isinstance(value, list) and value:
        key = merge_key(names)
        if key and all(isinstance(item, dict) for item in value):
            for item in value:
                item_path = path + (_key_segment(key, item),)
                found[item_path + (".",)] = True
                for field, child in item.items():
                    _walk(child, item_path + ("f:" + field,), names + (field,), found)
            return
        if is_primitive_set(names):
            for item in value:
                found[path + ("v:" + json.dumps(item),)] = True
            return
    found[path] = value


def to_fields_v1(paths) -> dict:
    root: dict = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(part, {})
    return root


def from_fields_v1(trie: dict, prefix: tuple = ()) -> set[tuple]:
    paths = set()
    for key, child in trie.items():
        if child:
            paths |= from_fields_v1(child, prefix + (key,))
        else:
            paths.add(prefix + (key,))
    return paths


def field_string(path: tuple) -> str:
    """`.spec.template.spec.containers[name="web"].image`, as conflict messages name fields."""
    text = ""
    for part in path:
        if part.startswith("f:"):
            text += "." + part[2:]
        elif part.startswith("k:"):
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(part[2:]).items()) + "]"
        elif part.startswith("v:"):
            text += f"[={part[2:]}]"
    return text


def _entry(manager: str, operation: str, rt: ResourceType, now: str, paths, subresource: str | None) -> dict:
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": rt.api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _decoded(obj: dict) -> list[list]:
    """[entry, its paths, how many it had]: callers shrink the sets, `_entries` notices which shrank."""
    decoded = []
    for entry in obj["metadata"].get("managedFields") or ():
        paths = from_fields_v1(entry.get("fieldsV1") or {})
        decoded.append([entry, paths, len(paths)])
    return decoded


def _same_owner(entry: dict, manager: str, operation: str, subresource: str | None) -> bool:
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and entry.get("subresource") == subresource
    )


def _entries(decoded: list[list], own: list | None, own_entry: dict | None, rt: ResourceType, now: str) -> list[dict]:
    """The new managedFields: own_entry in own's place (or last), shrunk entries rebuilt, empty ones dropped."""
    result = []
    for item in decoded:
        entry, paths, count = item
        if item is own:
            if own_entry is not None:
                result.append(own_entry)
        elif paths and len(paths) == count:
            result.append(entry)
        elif paths:
            result.append(
                _entry(
                    entry["manager"], entry["operation"], rt, entry.get("time", now), paths, entry.get("subresource")
                )
            )
    if own is None and own_entry is not None:
        result.append(own_entry)
    return result


def record_update(
    old: dict | None, new: dict, *, manager: str, rt: ResourceType, now: str, subresource: str | None = None
) -> list[dict]:
    """managedFields after a non-apply write by `manager`: the fields it changed become its own."""
    old_leaves = leaves(old) if old else {}
    new_leaves = leaves(new)
    changed = {path for path, value in new_leaves.items() if old_leaves.get(path, _MISSING) != value}
    removed = old_leaves.keys() - new_leaves.keys()
    if not changed and not removed:
        return (old or new)["metadata"].get("managedFields") or []
    decoded = _decoded(old) if old else []
    own = next((item for item in decoded if _same_owner(item[0], manager, "Update", subresource)), None)
    own_paths = ((own[1] if own else set()) | changed) - removed
    for item in decoded:
        item[1] -= changed
        item[1] -= removed
    own_entry = _entry(manager, "Update", rt, now, own_paths, subresource) if own_paths else None
    return _entries(decoded, own, own_entry, rt, now)


def apply(live: dict | None, applied: dict, *, manager: str, force: bool, rt: ResourceType, now: str) -> dict:
    """The object after `manager` applies `applied`: a new dict, equal to live when nothing changes."""
    applied = _without_nulls(applied)
    applied_leaves = leaves(applied)
    applied_paths = set(applied_leaves)
    if live is None:
        entry = _entry(manager, "Apply", rt, now, applied_paths, None)
        return {**applied, "metadata": {**applied["metadata"], "managedFields": [entry]}}
    decoded = _decoded(live)
    own = next((item for item in decoded if _same_owner(item[0], manager, "Apply", None)), None)
    others = [item for item in decoded if item is not own]
    live_leaves = None
    conflicts = []
    for entry, paths, _ in others:
        for path in paths & applied_paths:
            if path[-1] == "." or path[-1].startswith("v:"):
                continue
            if live_leaves is None:
                live_leaves = leaves(live)
            if live_leaves.get(path, _MISSING) != applied_leaves[path]:
                conflicts.append((entry, paths, path))
    if conflicts and not force:
        raise apply_conflict(
            rt, live["metadata"]["name"], [(entry["manager"], field_string(path)) for entry, _, path in conflicts]
        )
    for _, paths, path in conflicts:
        paths.discard(path)
    still_owned = set().union(*(paths for _, paths, _ in others))
    previous = own[1] if own else set()
    obj = live
    for path in sorted(previous - applied_paths - still_owned, key=len, reverse=True):
        obj = _without(obj, path)
    obj = _merge_object(obj, applied)
    unchanged = own is not None and previous == applied_paths and not conflicts and _same_content(obj, live)
    own_entry = own[0] if unchanged else _entry(manager, "Apply", rt, now, applied_paths, None)
    entries = _entries(decoded, own, own_entry, rt, now)
    return {**obj, "metadata": {**obj["metadata"], "managedFields": entries}}


def _without_nulls(value):
    """An apply configuration with its nulls dropped: in apply, null means "not set by this manager"."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _same_content(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        if key == "metadata":
            other = b["metadata"]
            if {k: v for k, v in value.items() if k != "managedFields"} != {
                k: v for k, v in other.items() if k != "managedFields"
            }:
                return False
        elif value != b[key]:
            return False
    return True


def _merge_object(live: dict, applied: dict) -> dict:
    result = dict(live)
    for key, value in applied.items():
        if key in _SKIPPED_TOP:
            continue
        if key == "metadata":
            metadata = dict(live["metadata"])
            for meta_key, meta_value in (value or {}).items():
                if meta_key not in _SKIPPED_METADATA:
                    metadata[meta_key] = _merge(metadata.get(meta_key), meta_value, ("metadata", meta_key))
            result["metadata"] = metadata
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(live.get(key), value, (key,))
    return result


def _merge(live, applied, names: tuple):
    if isinstance(applied, dict) and isinstance(live, dict):
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = _merge(live.get(key), value, names + (key,))
        return result
    if isinstance(applied, list) and isinstance(live, list):
        if is_primitive_set(names):
            return live + [item for item in applied if item not in live]
        key = merge_key(names)
        if key and all(isinstance(item, dict) for item in applied + live):
            result = list(live)
            for item in applied:
                index = next((i for i, existing in enumerate(result) if existing.get(key) == item.get(key)), None)
                if index is None:
                    result.append(item)
                else:
                    result[index] = _merge(result[index], item, names)
            return result
    return applied


def _without(node, path: tuple):
    """node with the field at path removed, sharing everything else."""
    head, rest = path[0], path[1:]
    if head == ".":
        return _REMOVE
    if head.startswith("f:"):
        key = head[2:]
        if not isinstance(node, dict) or key not in node:
            return node
        result = dict(node)
        if rest:
            child = _without(node[key], rest)
            result[key] = child
        else:
            del result[key]
        return result
    if not isinstance(node, list):
        return node
    if head.startswith("v:"):
        value = json.loads(head[2:])
        return [item for item in node if item != value]
    identity = json.loads(head[2:])
    for index, item in enumerate(node):
        if isinstance(item, dict) and all(item.get(k) == v for k, v in identity.items()):
            child = _without(item, rest) if rest else _REMOVE
            result = list(node)
            if child is _REMOVE:
                del result[index]
            else:
                result[index] = child
            return result
    return node


def is_noop(new: dict, live: dict) -> bool:
    """True when a write would change nothing but managedFields timestamps: then it is not stored."""
    if not _same_content(new, live):
        return False
    before = live["metadata"].get("managedFields") or []
    after = new["metadata"].get("managedFields") or []
    return len(before) == len(after) and all(
        {k: v for k, v in a.items() if k != "time"} == {k: v for k, v in b.items() if k != "time"}
        for a, b in zip(before, after, strict=True)
    )
