"""The simulated control plane: controllers that react to writes, all on the server's event loop.

Each controller hears every store write through a synchronous listener, keeps a deduplicated
queue of keys, and reconciles one key at a time, yielding to the loop between keys so requests
are never starved. Reconcile steps are synchronous, like request handlers, so they see and leave
a consistent store.
"""

import asyncio
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Timing:
    """How fast the simulated cluster moves. Tests use the fast defaults; a demo may slow it down."""

    ready_after: float = 0.3  # seconds from a pod's creation to Ready
    ready_spread: float = 0.0  # each pod takes up to this much longer, its own share fixed by its uid
    slow_factor: float = 10.0  # images tagged `slow` take this many times longer
    backoff: float = 0.5  # first crash-loop / image-pull back-off; doubles up to backoff_max
    backoff_max: float = 5.0
    hpa_interval: float = 1.0  # how often autoscalers re-evaluate
    retry_after: float = 1.0  # a ReplicaSet whose pods were refused tries again after this
    events_per_namespace: int = 1000


class WorkQueue:
    """Keys waiting for a reconcile, each at most once, drained by one task."""

    def __init__(self, name: str, reconcile: Callable[[Hashable], None]):
        self.name = name
        self._reconcile = reconcile
        self._pending: dict = {}
        self._wakeup = asyncio.Event()

    def add(self, key: Hashable) -> None:
        self._pending[key] = None
        self._wakeup.set()

    def add_after(self, key: Hashable, delay: float) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(max(delay, 0), self.add, key)

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                key = next(iter(self._pending))
                del self._pending[key]
                try:
                    self._reconcile(key)
                except Exception:
                    log.exception("sandbox %s controller failed on %s", self.name, key)
                await asyncio.sleep(0)


def owner_reference(owner: dict) -> dict:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict, kind: str) -> dict | None:
    """The ownerReference of obj's managing controller, if it is of `kind`."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") == kind:
            return ref
    return None


class Context:
    """What every controller needs: the store to read, the registry to write, events to record."""

    def __init__(self, store, registry, recorder, timing: Timing):
        self.store = store
        self.registry = registry
        self.recorder = recorder
        self.timing = timing


class Controller:
    """Base for the controllers: hooks the manager calls, all optional."""

    def __init__(self, context: Context):
        self.store = context.store
        self.registry = context.registry
        self.recorder = context.recorder
        self.timing = context.timing

    def on_change(self, change) -> None:
        """Hear one store write; only enqueue work here."""

    def queues(self) -> list[WorkQueue]:
        return []

    def background(self) -> list:
        """Coroutines to run for the server's lifetime (periodic work)."""
        return []

    def resync(self) -> None:
        """Pick up objects that were already stored when the server started (a state file)."""


class ControllerManager:
    """Starts the controllers, wires their listeners to the store and stops them together."""

    def __init__(self, store, registry, timing: Timing):
        from .autoscaler import AutoscalerController
        from .deployments import DeploymentController
        from .events import EventRecorder
        from .gc import GarbageCollector
        from .kubelet import Kubelet
        from .quota import QuotaController
        from .replicasets import ReplicaSetController
        from .statefulsets import StatefulSetController

        recorder = EventRecorder(store, registry, timing.events_per_namespace)
        context = Context(store, registry, recorder, timing)
        self.kubelet = Kubelet(context)
        self.controllers = [
            GarbageCollector(context),
            DeploymentController(context),
            ReplicaSetController(context),
            StatefulSetController(context),
            self.kubelet,
            AutoscalerController(context),
            QuotaController(context),
        ]
        self._store = store
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        for controller in self.controllers:
            self._store.listen(controller.on_change)
            for queue in controller.queues():
                self._tasks.append(asyncio.create_task(queue.run(), name=f"sandbox-{queue.name}"))
            self._tasks.extend(asyncio.create_task(job) for job in controller.background())
        for controller in self.controllers:
            controller.resync()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.kubelet.cancel_timers()
