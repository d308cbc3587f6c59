"""Objects, the global resourceVersion, a bounded history of changes, and who hears about them.

The whole server runs on one asyncio loop and every write is synchronous, so there are no locks.
Stored objects are never mutated: a write stores a new top-level dict with a new `metadata` dict
and shares untouched subtrees with the previous version. That makes a write a couple of shallow
copies instead of a deep copy, and lets watch events and history keep references safely. Code that
changes an object builds new dicts along the path it changes (see `registry.py`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator

from .errors import expired
from .kinds import BY_KEY, RESOURCES, ResourceType

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


def encode(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Change:
    """One write: what it was, the object after it (for DELETED, the last state) and before it."""

    __slots__ = ("_object_json", "obj", "old", "rt", "rv", "type")

    def __init__(self, rv: int, type_: str, rt: ResourceType, obj: dict, old: dict | None):
        self.rv = rv
        self.type = type_
        self.rt = rt
        self.obj = obj
        self.old = old
        self._object_json = None

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    def line(self, type_: str | None = None) -> bytes:
        """The watch line for this change; the object is encoded once however many watchers get it."""
        if self._object_json is None:
            self._object_json = encode(self.obj)
        return b'{"type":"' + (type_ or self.type).encode() + b'","object":' + self._object_json + b"}\n"


class Store:
    def __init__(self, history_size: int = 20000):
        self.rv = 0
        # Watches may resume from any version above this one; older ones get 410 Expired.
        self.compacted_rv = 0
        self.history: deque[Change] = deque(maxlen=history_size)
        self.dirty = False
        self._objects: dict[str, dict[str, dict[str, dict]]] = {rt.key: {} for rt in RESOURCES}
        self._by_uid: dict[str, tuple[ResourceType, str, str]] = {}
        self._dependents: dict[str, set[tuple[ResourceType, str, str]]] = {}
        self._watchers: dict[str, set] = {rt.key: set() for rt in RESOURCES}
        self._listeners: list[Callable[[Change], None]] = []

    # --- reads -------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict | None:
        bucket = self._objects[rt.key].get(namespace)
        return bucket.get(name) if bucket else None

    def list(self, rt: ResourceType, namespace: str | None = None) -> list[dict]:
        """Objects of a type, in one namespace or (None) in all of them, ordered by namespace and name."""
        buckets = self._objects[rt.key]
        if namespace is not None:
            bucket = buckets.get(namespace)
            return [bucket[name] for name in sorted(bucket)] if bucket else []
        return [buckets[ns][name] for ns in sorted(buckets) for name in sorted(buckets[ns])]

    def count(self, rt: ResourceType, namespace: str) -> int:
        return len(self._objects[rt.key].get(namespace) or ())

    def namespaces_with(self, rt: ResourceType) -> list[str]:
        return [ns for ns, bucket in self._objects[rt.key].items() if bucket]

    def by_uid(self, uid: str) -> dict | None:
        where = self._by_uid.get(uid)
        return self.get(*where) if where else None

    def dependents(self, owner_uid: str, rt: ResourceType | None = None) -> list[dict]:
        """Objects listing owner_uid in their ownerReferences (optionally of one type)."""
        found = []
        for dep_rt, namespace, name in self._dependents.get(owner_uid, ()):
            if rt is None or dep_rt is rt:
                obj = self.get(dep_rt, namespace, name)
                if obj is not None:
                    found.append(obj)
        return found

    def dependent_keys(self, owner_uid: str) -> list[tuple[ResourceType, str, str]]:
        return list(self._dependents.get(owner_uid, ()))

    def counts(self) -> dict[str, int]:
        return {key: sum(len(b) for b in buckets.values()) for key, buckets in self._objects.items()}

    # --- writes ------------------------------------------------------------------------------

    def add(self, rt: ResourceType, obj: dict) -> dict:
        return self._write(rt, obj, None, ADDED)

    def replace(self, rt: ResourceType, obj: dict, old: dict) -> dict:
        return self._write(rt, obj, old, MODIFIED)

    def remove(self, rt: ResourceType, obj: dict) -> dict:
        """Drop an object; the DELETED event carries obj (its last state) under the deletion's version."""
        metadata = obj["metadata"]
        stored = self._objects[rt.key][metadata.get("namespace", "")][metadata["name"]]
        return self._write(rt, obj, stored, DELETED)

    def _write(self, rt: ResourceType, obj: dict, old: dict | None, type_: str) -> dict:
        self.rv += 1
        metadata = dict(obj["metadata"])
        metadata["resourceVersion"] = str(self.rv)
        obj = {**obj, "metadata": metadata}
        namespace, name = metadata.get("namespace", ""), metadata["name"]
        buckets = self._objects[rt.key]
        if type_ == DELETED:
            bucket = buckets[namespace]
            del bucket[name]
            if not bucket:
                del buckets[namespace]
            self._by_uid.pop(metadata["uid"], None)
        else:
            buckets.setdefault(namespace, {})[name] = obj
            self._by_uid[metadata["uid"]] = (rt, namespace, name)
        self._index_owners(rt, namespace, name, old, None if type_ == DELETED else obj)
        change = Change(self.rv, type_, rt, obj, old)
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv
        self.history.append(change)
        self.dirty = True
        for watcher in tuple(self._watchers[rt.key]):
            watcher.offer(change)
        for listener in self._listeners:
            listener(change)
        return obj

    def _index_owners(self, rt, namespace, name, old, new) -> None:
        before = {ref["uid"] for ref in (old or {}).get("metadata", {}).get("ownerReferences") or ()}
        after = {ref["uid"] for ref in (new or {}).get("metadata", {}).get("ownerReferences") or ()}
        if before == after:
            return
        entry = (rt, namespace, name)
        for uid in before - after:
            owned = self._dependents.get(uid)
            if owned:
                owned.discard(entry)
                if not owned:
                    del self._dependents[uid]
        for uid in after - before:
            self._dependents.setdefault(uid, set()).add(entry)

    # --- watchers and listeners --------------------------------------------------------------

    def subscribe(self, rt: ResourceType, watcher) -> None:
        self._watchers[rt.key].add(watcher)

    def unsubscribe(self, rt: ResourceType, watcher) -> None:
        self._watchers[rt.key].discard(watcher)

    def watchers(self) -> list:
        return [w for group in self._watchers.values() for w in group]

    def listen(self, listener: Callable[[Change], None]) -> None:
        """Controllers hear every write synchronously; they only enqueue work, never write back here."""
        self._listeners.append(listener)

    def changes_since(self, rt: ResourceType, rv: int) -> Iterator[Change]:
        """Changes of one type after `rv`, oldest first; 410 Expired when history no longer reaches back."""
        if rv < self.compacted_rv:
            raise expired(rv, self.compacted_rv)
        newer = []
        for change in reversed(self.history):
            if change.rv <= rv:
                break
            if change.rt is rt:
                newer.append(change)
        return reversed(newer)

    # --- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {
            "resourceVersion": self.rv,
            "objects": {
                key: [obj for bucket in buckets.values() for obj in bucket.values()]
                for key, buckets in self._objects.items()
                if buckets
            },
        }

    def restore(self, data: dict) -> None:
        """Load a snapshot. History starts empty, so watches from before the restart get 410, as after an
        etcd compaction, and clients relist."""
        for key, objects in data.get("objects", {}).items():
            rt = BY_KEY.get(key)
            if rt is None:
                continue
            for obj in objects:
                metadata = obj["metadata"]
                namespace = metadata.get("namespace", "")
                self._objects[key].setdefault(namespace, {})[metadata["name"]] = obj
                self._by_uid[metadata["uid"]] = (rt, namespace, metadata["name"])
                self._index_owners(rt, namespace, metadata["name"], None, obj)
        self.rv = int(data.get("resourceVersion", 0))
        self.compacted_rv = self.rv
        self.dirty = False
