"""The lifecycle watcher: one watch per cluster and kind keeps workload rows current.

Every object the portal applies carries its tenant, environment and application as labels, and so do
the pods made from them. A watch event marks that workload dirty; the main loop reads a dirty workload
at once when it was not read a moment ago, and otherwise once its objects have been quiet for a
moment, so a rollout's burst of pod updates costs two reads of the cluster, not one per update.
Watches resume from the last resourceVersion and relist on 410 (KubeClient.watch); a relist marks
everything it lists dirty again.

Events on pods and Deployments also take the fast path (rollouts.py): the pod as the event carries
it goes into the workload's pod rows at once, and a rollout in progress there is looked at at once,
so the workload's and the deployment's pages move with the cluster rather than with the full read or
the rollout's scheduled looks. The Deployments a (re)list brings take it too, once per workload (their
pods are left to the full read): a rollout that finished before its watch began (a watcher that took
over mid-rollout) or while a 410 was relisted sends no event after that.

Only one watcher works at a time across the portal's replicas: the one holding the `lifecycle` lease
(apps/core/leases.py). A standby takes over within a lease's length of the leader dying or freezing;
a leader that finds its lease gone stops its watches and stands by again.
"""

from __future__ import annotations

import threading
import time

import structlog
from django.conf import settings
from django.db import close_old_connections, connection

from apps.catalog.models import Application
from apps.clusters.connection import kube_for
from apps.clusters.kube import KubeError
from apps.clusters.models import Cluster
from apps.core.leases import Leadership, LeaseLost, acting_for
from apps.deployments.manifests import LABEL, MANAGED_BY
from apps.tenants.models import Environment

from .rollouts import Changes, Key, hasten
from .services import workload_refresh

logger = structlog.get_logger(__name__)

KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("batch/v1", "CronJob"),
)
SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"
# A workload not read this long is read at once; otherwise once its objects have been quiet this long
# (or it has waited MAX_DELAY).
QUIET_SECONDS = 0.3
MAX_DELAY_SECONDS = 2.0
# The kinds whose events take the fast path (rollouts.py).
FAST_KINDS = ("Pod", "Deployment")
WATCH_SECONDS = 300
LEASE = "lifecycle"
CLUSTERS_EVERY_SECONDS = 30


class Dirty:
    """Workloads waiting to be read, with when each was first and last marked, and whether it is read
    at once (nothing read it a moment ago). `wake` is set by every mark."""

    def __init__(self):
        self._lock = threading.Lock()
        self._marks: dict[Key, tuple[float, float, bool]] = {}
        self._timers: dict[Key, float] = {}
        self._read: dict[Key, float] = {}  # when each key recently went to be read
        self.wake = threading.Event()

    def mark(self, key: Key) -> None:
        now = time.monotonic()
        with self._lock:
            if key in self._marks:
                first, _, at_once = self._marks[key]
            else:
                first, at_once = now, now - self._read.get(key, -QUIET_SECONDS) >= QUIET_SECONDS
            self._marks[key] = (first, now, at_once)
        self.wake.set()

    def later(self, key: Key, seconds: float) -> None:
        """Read the workload again in `seconds` even if nothing changes (self-heal's grace ends, an
        incident is due to resolve); the earliest of several asked for."""
        at = time.monotonic() + seconds
        with self._lock:
            self._timers[key] = min(at, self._timers.get(key, at))

    def due(self) -> list[Key]:
        now = time.monotonic()
        with self._lock:
            ready = [
                key
                for key, (first, last, at_once) in self._marks.items()
                if at_once or now - last >= QUIET_SECONDS or now - first >= MAX_DELAY_SECONDS
            ]
            for key in ready:
                del self._marks[key]
            self._read = {key: at for key, at in self._read.items() if now - at < QUIET_SECONDS}
            self._read.update(dict.fromkeys(ready, now))
            for key, at in list(self._timers.items()):
                if at <= now:
                    del self._timers[key]
                    ready.append(key)
        return list(dict.fromkeys(ready))


def key_of(obj: dict) -> Key | None:
    labels = obj.get("metadata", {}).get("labels") or {}
    key = (labels.get(f"{LABEL}/tenant"), labels.get(f"{LABEL}/environment"), labels.get(f"{LABEL}/application"))
    return key if all(key) else None  # type: ignore[return-value]


class Watcher:
    def __init__(self, *, stop: threading.Event | None = None):
        self.stop = stop or threading.Event()
        self.dirty = Dirty()
        self.changes = Changes()
        self._watching: set[tuple[int, str]] = set()
        self._clients: list = []
        self.term = threading.Event()  # set when the current term of leading ends

    def run(self) -> None:
        """Lead, watching, until stopped; stand by whenever another replica leads."""
        leadership = Leadership(LEASE, stop=self.stop)
        while leadership.wait_to_lead():
            logger.info("lifecycle watcher started", token=leadership.token)
            self.term = threading.Event()
            threading.Thread(
                target=hasten, args=(self.changes, leadership, self.term, self.stop), name="fast-path", daemon=True
            ).start()
            with acting_for(leadership):
                self._lead(leadership)
            self.term.set()  # this term's watches end with it
            self._watching.clear()
            for client in list(self._clients):  # drops the clients' idle connections; streams end on their next read
                client.close()
        leadership.release()  # a standby takes over at once rather than when the lease runs out
        connection.close()

    def _lead(self, leadership: Leadership) -> None:
        next_clusters = 0.0
        while not self.stop.is_set() and leadership.leading:
            if time.monotonic() >= next_clusters:
                self._start_watches()
                next_clusters = time.monotonic() + CLUSTERS_EVERY_SECONDS
            for key in self.dirty.due():
                try:
                    self.refresh(key)
                except LeaseLost:
                    return
            self.dirty.wake.wait(0.05)
            self.dirty.wake.clear()

    def refresh(self, key: Key) -> None:
        tenant, environment_name, application_name = key
        close_old_connections()
        environment = Environment.objects.filter(tenant__slug=tenant, name=environment_name).first()
        application = Application.objects.filter(tenant__slug=tenant, name=application_name).first()
        if environment is None or application is None:
            return
        try:
            workload = workload_refresh(application=application, environment=environment)
            if workload is not None and workload.sync == "out_of_sync":
                self.dirty.later(key, settings.SELF_HEAL_GRACE_SECONDS)
            if workload is not None and workload.look_again_in is not None:
                self.dirty.later(key, workload.look_again_in)  # an incident's cause stayed away long enough
        except LeaseLost:
            self.dirty.mark(key)  # for whoever leads next
            raise
        except Exception:  # one workload's failure must not stop the others being watched
            logger.exception("workload refresh failed", tenant=tenant, environment=environment_name)

    def _start_watches(self) -> None:
        for cluster in Cluster.objects.all():
            for api_version, kind in KINDS:
                if (cluster.pk, kind) in self._watching:
                    continue
                self._watching.add((cluster.pk, kind))
                thread = threading.Thread(
                    target=self._watch,
                    args=(cluster, api_version, kind, self.term),
                    name=f"watch-{cluster.name}-{kind}",
                )
                thread.daemon = True
                thread.start()

    def _watch(self, cluster: Cluster, api_version: str, kind: str, term: threading.Event) -> None:
        """Follow one kind on one cluster for as long as this term of leading lasts."""
        version = None
        while not (self.stop.is_set() or term.is_set()):
            try:
                kube = kube_for(cluster)
                self._clients.append(kube)
                try:
                    for event_type, obj in kube.watch(
                        api_version,
                        kind,
                        label_selector=SELECTOR,
                        resource_version=version,
                        timeout_seconds=WATCH_SECONDS,
                        stopped=lambda: self.stop.is_set() or term.is_set(),
                    ):
                        version = obj.get("metadata", {}).get("resourceVersion") or version
                        if (key := key_of(obj)) is not None:
                            self.dirty.mark(key)
                            if kind in FAST_KINDS and (event_type != "SYNC" or kind == "Deployment"):
                                pod = obj if event_type != "DELETED" else None
                                meta = obj["metadata"]
                                named = (meta.get("namespace", ""), meta["name"])
                                self.changes.mark(key, (named, pod) if kind == "Pod" else None)
                        if self.stop.is_set() or term.is_set():
                            return
                finally:
                    self._clients.remove(kube)
                    kube.close()
            except (KubeError, OSError, ValueError) as error:
                if self.stop.is_set() or term.is_set():
                    return
                logger.warning("watch failed; retrying", cluster=cluster.name, kind=kind, error=str(error))
                version = None  # list again: what changed meanwhile is marked by the relist
                self.stop.wait(2)
