"""ResourceQuota status: `status.hard` and `status.used`, recomputed when anything it counts changes."""

from .. import quantity
from ..admission import namespace_usage
from ..kinds import EVENTS, QUOTAS
from . import Controller, WorkQueue


class QuotaController(Controller):
    def __init__(self, context):
        super().__init__(context)
        self.queue = WorkQueue("resourcequota", self.reconcile)

    def queues(self):
        return [self.queue]

    def on_change(self, change) -> None:
        if change.rt is EVENTS:
            return
        namespace = change.namespace
        if namespace and (change.rt is QUOTAS or self.store.count(QUOTAS, namespace)):
            self.queue.add(namespace)

    def resync(self) -> None:
        for namespace in self.store.namespaces_with(QUOTAS):
            self.queue.add(namespace)

    def reconcile(self, namespace: str) -> None:
        for quota in self.store.list(QUOTAS, namespace):
            hard = dict((quota.get("spec") or {}).get("hard") or {})
            used = namespace_usage(self.store, namespace, hard)
            status = {"hard": hard, "used": {key: quantity.format_for(key, used[key]) for key in sorted(used)}}
            self.registry.set_status(QUOTAS, quota, status)
