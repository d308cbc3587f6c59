"""Cascading deletion: the garbage collector and the namespace controller.

As in Kubernetes, a background delete returns at once and dependents (ownerReferences) go right
after; a foreground delete keeps the owner, marked with the `foregroundDeletion` finalizer, until
its dependents are gone; deleting a namespace marks it Terminating, empties it, then removes it.
"""

from ..kinds import NAMESPACES, RESOURCES
from ..registry import FOREGROUND
from ..store import DELETED
from . import Controller, WorkQueue

_NAMESPACED = [rt for rt in RESOURCES if rt.namespaced]


class GarbageCollector(Controller):
    def __init__(self, context):
        super().__init__(context)
        self.owners = WorkQueue("garbage-collector", self._collect)
        self.namespaces = WorkQueue("namespaces", self._empty_namespace)

    def queues(self):
        return [self.owners, self.namespaces]

    def on_change(self, change) -> None:
        metadata = change.obj["metadata"]
        if change.type == DELETED:
            if self.store.dependent_keys(metadata["uid"]):
                self.owners.add(metadata["uid"])
            for ref in metadata.get("ownerReferences") or ():
                owner = self.store.by_uid(ref["uid"])
                if owner is not None and FOREGROUND in (owner["metadata"].get("finalizers") or ()):
                    self.owners.add(ref["uid"])
            namespace = metadata.get("namespace")
            if namespace:
                parent = self.store.get(NAMESPACES, "", namespace)
                if parent is not None and "deletionTimestamp" in parent["metadata"]:
                    self.namespaces.add(namespace)
            elif change.rt is NAMESPACES:
                self.recorder.forget(metadata["name"])
        elif "deletionTimestamp" in metadata:
            if FOREGROUND in (metadata.get("finalizers") or ()):
                self.owners.add(metadata["uid"])
            if change.rt is NAMESPACES:
                self.namespaces.add(metadata["name"])

    def resync(self) -> None:
        for namespace in self.store.list(NAMESPACES):
            if "deletionTimestamp" in namespace["metadata"]:
                self.namespaces.add(namespace["metadata"]["name"])

    def _collect(self, owner_uid: str) -> None:
        owner = self.store.by_uid(owner_uid)
        foreground = owner is not None and FOREGROUND in (owner["metadata"].get("finalizers") or ())
        if owner is not None and not foreground:
            return
        for rt, namespace, name in self.store.dependent_keys(owner_uid):
            dependent = self.store.get(rt, namespace, name)
            if dependent is None or "deletionTimestamp" in dependent["metadata"]:
                continue
            refs = dependent["metadata"].get("ownerReferences") or []
            if any(ref["uid"] != owner_uid and self.store.by_uid(ref["uid"]) is not None for ref in refs):
                kept = [ref for ref in refs if ref["uid"] != owner_uid]
                self.store.replace(
                    rt, {**dependent, "metadata": {**dependent["metadata"], "ownerReferences": kept}}, dependent
                )
            else:
                self.registry.delete(rt, dependent, propagation="Foreground" if foreground else "Background")
        if foreground and not self.store.dependent_keys(owner_uid):
            rt = next(rt for rt in RESOURCES if rt.kind == owner["kind"] and rt.api_version == owner["apiVersion"])
            self.registry.remove_finalizer(rt, owner, FOREGROUND)

    def _empty_namespace(self, name: str) -> None:
        namespace = self.store.get(NAMESPACES, "", name)
        if namespace is None or "deletionTimestamp" not in namespace["metadata"]:
            return
        remaining = False
        for rt in _NAMESPACED:
            for obj in self.store.list(rt, name):
                remaining = True
                if "deletionTimestamp" not in obj["metadata"]:
                    self.registry.delete(rt, obj, propagation="Background")
        if not remaining:
            self.store.remove(NAMESPACES, namespace)
