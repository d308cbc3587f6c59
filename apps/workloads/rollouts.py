"""The watcher's fast path: what an event on a pod or Deployment changes at once, ahead of the full read.

A full read of a workload (services.workload_refresh) reads every object of it and judges drift with
dry runs; the watcher waits for a quiet moment before it and runs one at a time. An event already
carries the changed pod as the cluster has it now, so two things need not wait for that read:

- the pod goes into the workload's pod rows at once (`workload_pods_seen`), and the workload's open
  pages redraw it;
- a deployment of the workload that is rolling out is looked at at once (the pipeline's own look,
  `pipeline.look_now`: the same strategy, services and row lock as its scheduled looks, for the row's
  current attempt), so its page shows the step without waiting for the next scheduled look. Events
  that come while a deployment of the workload is still applying (its pods can be ready before it
  starts rolling out, and then no event follows) have the workload acted on again every EVERY_SECONDS
  until it rolls out.

Events are coalesced per workload: the first is acted on at once, and the ones that arrive within
EVERY_SECONDS of it, or while it is acted on, once more after that; a rollout's burst of pod events
costs two looks, not one per event. A few threads act, never two on one workload.
"""

from __future__ import annotations

import queue
import threading
import time

import structlog
from django.db import connection

from apps.clusters.kube import KubeError
from apps.core.errors import ApplicationError
from apps.core.leases import Leadership, LeaseLost, acting_for
from apps.deployments.choices import OBSERVED, State
from apps.deployments.models import Deployment
from apps.deployments.pipeline import look_now

from .services import workload_pods_seen

logger = structlog.get_logger(__name__)

Key = tuple[str, str, str]  # tenant slug, environment name, application name
# A workload is acted on at most once in this long (a burst's last events once more after it).
EVERY_SECONDS = 0.25
THREADS = 4


class Changes:
    """Workloads with fresh events, and the pods those events carried (None: the pod was deleted).
    `wake` is set by every mark and every end of an action."""

    def __init__(self):
        self._lock = threading.Lock()
        self._due: dict[Key, float] = {}
        self._taken: dict[Key, float] = {}
        self._busy: set[Key] = set()
        self._pods: dict[Key, dict[tuple[str, str], dict | None]] = {}
        self.wake = threading.Event()

    def mark(self, key: Key, pod: tuple[tuple[str, str], dict | None] | None = None) -> None:
        """`pod`: ((namespace, name), the pod or None when deleted), from a pod's event."""
        now = time.monotonic()
        with self._lock:
            if pod is not None:
                self._pods.setdefault(key, {})[pod[0]] = pod[1]
            if key not in self._due:
                taken = self._taken.get(key)
                self._due[key] = now if taken is None or now - taken >= EVERY_SECONDS else taken + EVERY_SECONDS
        self.wake.set()

    def take(self) -> tuple[list[tuple[Key, dict[tuple[str, str], dict | None]]], float | None]:
        """The workloads to act on now with their pods, each marked busy until `done`; and the seconds
        until the next one is due (None: none waits)."""
        now = time.monotonic()
        with self._lock:
            ready = [key for key, at in self._due.items() if at <= now and key not in self._busy]
            for key in ready:
                del self._due[key]
                self._busy.add(key)
            self._taken = {key: at for key, at in self._taken.items() if now - at < EVERY_SECONDS}
            self._taken.update(dict.fromkeys(ready, now))
            taken = [(key, self._pods.pop(key, {})) for key in ready]
            waiting = [at for key, at in self._due.items() if key not in self._busy]
        return taken, (max(0.0, min(waiting) - now) if waiting else None)

    def done(self, key: Key) -> None:
        with self._lock:
            self._busy.discard(key)
        self.wake.set()


def hasten(changes: Changes, leadership: Leadership, term: threading.Event, stop: threading.Event) -> None:
    """For as long as this term of leading lasts, hand each workload with fresh events to a thread."""
    work: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=_act_on, args=(changes, work, leadership), name=f"fast-path-{n}", daemon=True)
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    while not (stop.is_set() or term.is_set()):
        ready, wait = changes.take()
        for item in ready:
            work.put(item)
        changes.wake.wait(0.5 if wait is None else min(wait, 0.5))
        changes.wake.clear()
    for _ in threads:
        work.put(None)


def _act_on(changes: Changes, work: queue.Queue, leadership: Leadership) -> None:
    with acting_for(leadership):
        while (item := work.get()) is not None:
            key, pods = item
            try:
                if act(key, pods):
                    changes.mark(key)  # once more shortly: a deployment is still applying
            except LeaseLost:
                pass  # the watcher stands by; the next leader's watches bring the events again
            except Exception:  # one workload's failure must not stop the others
                logger.exception("fast path failed", workload=key)
                connection.close()
            finally:
                changes.done(key)
    connection.close()


def act(key: Key, pods: dict[tuple[str, str], dict | None]) -> bool:
    """Write the pods the events carried into the workload's rows, then look at its rollouts in progress.
    True while a deployment of the workload is still applying: its pods may be ready before it starts
    rolling out, and no event may come after that, so the workload is acted on again until it does."""
    tenant, environment, application = key
    if pods:
        workload_pods_seen(tenant=tenant, environment=environment, application=application, pods=pods)
    in_flight = Deployment.objects.filter(
        tenant__slug=tenant,
        environment__name=environment,
        application__name=application,
        state__in=(State.APPLYING, *OBSERVED),
    ).values_list("pk", "attempts", "state")
    applying = False
    for deployment_id, attempt, state in in_flight:
        if state == State.APPLYING:
            applying = True
            continue
        try:
            look_now(deployment_id=deployment_id, attempt=attempt)
        except KubeError as error:  # the scheduled looks wait an outage out and record it
            logger.info("look at the rollout failed", deployment=deployment_id, error=error.message)
        except ApplicationError as error:  # a cancel or rollback moved the row on meanwhile
            logger.info("look at the rollout stopped", deployment=deployment_id, error=error.message)
    return applying
