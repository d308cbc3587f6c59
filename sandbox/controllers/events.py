"""Core v1 Events, recorded the way client-go's recorder does: a repeat bumps `count` and `lastTimestamp`
instead of adding an object, and each namespace keeps only its newest events."""

import time
from collections import deque

from ..errors import APIError
from ..kinds import EVENTS
from ..registry import now


class EventRecorder:
    def __init__(self, store, registry, per_namespace: int):
        self.store = store
        self.registry = registry
        self.per_namespace = per_namespace
        self._recent: dict[tuple, str] = {}
        self._order: dict[str, deque] = {}

    def record(
        self, obj: dict, type_: str, reason: str, message: str, component: str, aggregate: tuple | None = None
    ) -> None:
        """Record an event about obj. `aggregate` groups events whose message varies (a new pod name per
        failed create) into one object, as the real event correlator does."""
        metadata = obj["metadata"]
        namespace = metadata.get("namespace") or "default"
        key = (namespace, metadata["uid"]) + (aggregate or (type_, reason, message))
        timestamp = now()
        name = self._recent.get(key)
        existing = self.store.get(EVENTS, namespace, name) if name else None
        if existing is not None:
            event = {**existing, "count": existing.get("count", 1) + 1, "lastTimestamp": timestamp, "message": message}
            self.store.replace(EVENTS, event, existing)
            return
        name = f"{metadata['name']}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "kind": obj["kind"],
                "namespace": metadata.get("namespace", ""),
                "name": metadata["name"],
                "uid": metadata["uid"],
                "apiVersion": obj["apiVersion"],
                "resourceVersion": metadata.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component, "host": "sandbox-node"}
            if component == "kubelet"
            else {"component": component},
            "firstTimestamp": timestamp,
            "lastTimestamp": timestamp,
            "count": 1,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        try:
            self.registry.create(EVENTS, event, namespace=namespace, admit=False)
        except APIError:
            return  # the namespace is gone or going; nobody will read this event
        self._recent[key] = name
        self._remember(namespace, key, name)

    def _remember(self, namespace: str, key: tuple, name: str) -> None:
        order = self._order.setdefault(namespace, deque())
        order.append((key, name))
        while len(order) > self.per_namespace:
            old_key, old_name = order.popleft()
            if self._recent.get(old_key) == old_name:
                del self._recent[old_key]
            old = self.store.get(EVENTS, namespace, old_name)
            if old is not None:
                self.store.remove(EVENTS, old)

    def forget(self, namespace: str) -> None:
        """Drop the bookkeeping of a deleted namespace."""
        for key, _ in self._order.pop(namespace, ()):
            self._recent.pop(key, None)
