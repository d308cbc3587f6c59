"""The Kubernetes client layer: the only module that talks to a cluster.

A thin wrapper over the official client's DynamicClient. Callers pass and get plain dicts. Transient
failures (5xx, 429, timeouts, dropped connections) are retried with jittered exponential backoff,
409 conflicts are retried after the next read, and anything else is raised at once as a KubeError
whose message says what the cluster said.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import urllib3
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.discovery import CacheEncoder, LazyDiscoverer
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

FIELD_MANAGER = "paas-portal"
# How the cluster's audit log (and the sandbox's access log) names the portal's requests.
USER_AGENT = "paas-portal"
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
DEFAULT_TIMEOUT = (5, 30)  # seconds to connect, seconds to read


# The head of a pod refusal: 'pods "web-5d9c-x7k2p" is forbidden: ' (the name changes with every retry).
_REFUSED_POD = re.compile(r'^pods? "[^"]*" is forbidden: ')


class KubeError(Exception):
    """A refusal or failure from the cluster, in words, with the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "", retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.retryable = retryable


class WatchExpired(KubeError):
    """The resourceVersion a watch resumed from is too old (410 Gone): list again."""


def _error_from(exc: Exception) -> KubeError:
    status = getattr(exc, "status", None)
    if isinstance(exc, (ApiException, DynamicApiError)) and status:
        body = getattr(exc, "body", None) or ""
        message, reason = str(exc.reason or ""), ""
        try:
            details = json.loads(body)
            message, reason = details.get("message", message), details.get("reason", "")
        except (TypeError, ValueError):
            pass
        kind = WatchExpired if status == 410 else KubeError
        return kind(
            message or f"HTTP {status}",
            status=status,
            reason=reason,
            retryable=status in RETRYABLE_STATUS or status == 409,
        )
    return KubeError(f"{type(exc).__name__}: {exc}", retryable=True)


@dataclass
class RolloutStatus:
    """What a Deployment reports about its rollout, read the way `kubectl rollout status` reads it."""

    desired: int
    generation: int
    observed_generation: int
    updated: int
    ready: int
    available: int
    unavailable: int
    conditions: list[dict] = field(default_factory=list)
    replicas: int = 0  # every pod of every ReplicaSet, old ones included

    @classmethod
    def from_deployment(cls, deployment: dict) -> RolloutStatus:
        spec, status = deployment.get("spec", {}), deployment.get("status", {}) or {}
        return cls(
            desired=spec.get("replicas", 1),
            generation=deployment["metadata"].get("generation", 0),
            observed_generation=status.get("observedGeneration", 0),
            updated=status.get("updatedReplicas", 0),
            ready=status.get("readyReplicas", 0),
            available=status.get("availableReplicas", 0),
            unavailable=status.get("unavailableReplicas", 0),
            conditions=status.get("conditions", []) or [],
            replicas=status.get("replicas", 0),
        )

    def condition(self, kind: str) -> dict:
        return next((c for c in self.conditions if c.get("type") == kind), {})

    @property
    def observed(self) -> bool:
        return self.observed_generation >= self.generation

    @property
    def failed(self) -> bool:
        return self.condition("Progressing").get("reason") == "ProgressDeadlineExceeded"

    @property
    def complete(self) -> bool:
        """kubectl's rule in full: the spec observed, every replica updated, no old replica left
        (`replicas` counts them while they terminate), and every updated replica available."""
        return (
            self.observed
            and not self.failed
            and self.updated == self.desired
            and self.replicas == self.updated
            and self.available == self.updated
            and self.ready == self.desired
            and self.unavailable == 0
        )

    @property
    def replica_failure(self) -> str:
        """Why the cluster cannot create a pod (a ReplicaFailure condition: a quota refusal, say), without
        the refused pod's generated name, so one refusal retried reads the same each time; or ""."""
        failure = self.condition("ReplicaFailure")
        if failure.get("status") != "True":
            return ""
        return _REFUSED_POD.sub("", failure.get("message") or failure.get("reason") or "cannot create pods")

    @property
    def message(self) -> str:
        if self.failed:
            return self.condition("Progressing").get("message") or "progress deadline exceeded"
        if not self.observed:
            return "waiting for the deployment spec update to be observed"
        if self.updated < self.desired:
            return f"{self.updated} of {self.desired} new replicas have been updated"
        if self.replicas > self.updated:
            return f"{self.replicas - self.updated} old replicas are pending termination"
        if self.available < self.desired:
            return f"{self.available} of {self.desired} updated replicas are available"
        return "successfully rolled out"


class _Discovery(LazyDiscoverer):
    """The official client's lazy discovery, its cache file replaced whole rather than rewritten in
    place: a client starting in another thread or process read a half-written file, logged "load cache
    error" and discovered the cluster again from scratch. Every client of one cluster shares the file."""

    def __init__(self, client, cache_file: str):
        self._cache_path = cache_file
        super().__init__(client, cache_file)

    def _write_cache(self) -> None:
        directory, name = os.path.split(self._cache_path)
        try:
            descriptor, written = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        except OSError:  # a read-only disk: each client discovers for itself, as the library does then
            return
        try:
            with os.fdopen(descriptor, "w") as out:
                json.dump(self._cache, out, cls=CacheEncoder)
            os.replace(written, self._cache_path)
        except (OSError, TypeError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(written)


def _discovery_file(host: str) -> str:
    return os.path.join(
        tempfile.gettempdir(), f"paas-portal-discovery-{hashlib.sha256(host.encode()).hexdigest()[:32]}.json"
    )


class KubeClient:
    """Apply, get, list, watch and delete plain-dict objects on one cluster."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        attempts: int = 5,
        backoff: float = 0.2,
        backoff_max: float = 5.0,
        timeout=DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.api_client = api_client
        api_client.user_agent = USER_AGENT
        # Calls that pass no timeout of their own (discovery inside DynamicClient) still never hang.
        api_client.rest_client.pool_manager.connection_pool_kw["timeout"] = urllib3.Timeout(
            connect=timeout[0], read=timeout[1]
        )
        self.attempts, self.backoff, self.backoff_max = attempts, backoff, backoff_max
        self.timeout = timeout
        self._sleep = sleep
        self._dynamic = None
        self._resources: dict[tuple[str, str], object] = {}

    @property
    def dynamic(self) -> DynamicClient:
        """Built on first use: its discovery costs a round trip that a version check does not need."""
        if self._dynamic is None:
            self._dynamic = self._call(
                lambda: DynamicClient(
                    self.api_client,
                    cache_file=_discovery_file(self.api_client.configuration.host),
                    discoverer=_Discovery,
                )
            )
        return self._dynamic

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- plumbing --------------------------------------------------------------------------------

    def _resource(self, api_version: str, kind: str):
        """The discovered API resource, looked up once per client: discovery search is not free."""
        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = self._call(
                    lambda: self.dynamic.resources.get(api_version=api_version, kind=kind)
                )
            except ResourceNotFoundError:
                raise KubeError(
                    f"The cluster does not serve {kind} in {api_version}.", status=404, reason="NotFound"
                ) from None
        return self._resources[key]

    def _call(self, operation: Callable, *, on_conflict: Callable | None = None):
        """Run `operation`, retrying what is worth retrying with full-jitter exponential backoff."""
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as exc:
                error = _error_from(exc)
                if not error.retryable or isinstance(error, WatchExpired) or attempt == self.attempts:
                    raise error from exc
                if error.status == 409 and on_conflict is not None:
                    on_conflict()
                self._sleep(random.uniform(0, min(self.backoff_max, self.backoff * 2**attempt)))
        raise AssertionError("unreachable")

    # --- verbs -----------------------------------------------------------------------------------

    def version(self) -> dict:
        return self._call(lambda: k8s.VersionApi(self.api_client).get_code(_request_timeout=self.timeout).to_dict())

    def api_groups(self) -> list[str]:
        """The group versions the cluster serves (its preferred one per group), core/v1 included, sorted."""
        groups = self._call(lambda: k8s.ApisApi(self.api_client).get_api_versions(_request_timeout=self.timeout))
        return sorted(["core/v1"] + [group.preferred_version.group_version for group in groups.groups])

    def can(self, verb: str, group: str, resource: str) -> bool | None:
        """Whether our own identity may `verb` the resource (a SelfSubjectAccessReview); None when the
        cluster offers no access reviews."""
        review = k8s.V1SelfSubjectAccessReview(
            spec=k8s.V1SelfSubjectAccessReviewSpec(
                resource_attributes=k8s.V1ResourceAttributes(verb=verb, group=group, resource=resource)
            )
        )
        try:
            result = self._call(
                lambda: k8s.AuthorizationV1Api(self.api_client).create_self_subject_access_review(
                    review, _request_timeout=self.timeout
                )
            )
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        return bool(result.status.allowed)

    def apply(self, manifests: list[dict], *, dry_run: bool = False) -> list[dict]:
        """Server-side apply each manifest (field manager paas-portal, forced), creating what is missing.
        A dry run answers what each object would become, changing nothing: what drift is judged by."""
        return [self._apply_one(manifest, dry_run=dry_run) for manifest in manifests]

    def _apply_one(self, manifest: dict, *, dry_run: bool = False) -> dict:
        resource = self._resource(manifest["apiVersion"], manifest["kind"])
        metadata = manifest["metadata"]
        return self._call(
            lambda: self.dynamic.server_side_apply(
                resource,
                body=manifest,
                name=metadata["name"],
                namespace=metadata.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
                dry_run="All" if dry_run else None,
                _request_timeout=self.timeout,
            )
        ).to_dict()

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None when the cluster has none of that name."""
        resource = self._resource(api_version, kind)
        return self._call(lambda: self._get(resource.path(name=name, namespace=namespace)))

    def _get(self, path: str) -> dict | None:
        # The GET DynamicClient.request makes, without its error translation: that formats the traceback
        # of every error into the exception (kubernetes.dynamic.exceptions.api_exception), and a missing
        # object is no error here but the everyday answer of a page asking what runs in each place.
        request = self.api_client.param_serialize(
            "GET",
            path,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(*request, _request_timeout=self.timeout)
        # Read every answer to its end, a refusal's too: only then does urllib3 give the connection back to
        # the pool; an unread 404 cost the next GET a new connection (and a TLS handshake on a real cluster).
        response.read()
        if response.status == 404:
            return None
        if not 200 <= response.status <= 299:
            self.api_client.response_deserialize(response, {})  # raises the ApiException _call judges
        return json.loads(response.data)

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[list[dict], str]:
        """(items, resourceVersion of the list) — the version to resume a watch from."""
        resource = self._resource(api_version, kind)
        result = self._call(
            lambda: self.dynamic.get(
                resource, namespace=namespace, label_selector=label_selector, _request_timeout=self.timeout
            )
        ).to_dict()
        return result.get("items", []), result.get("metadata", {}).get("resourceVersion", "")

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None, body: dict) -> dict:
        """JSON merge patch (RFC 7386): changes only the fields given, such as a Deployment's replicas,
        without taking over the fields the portal's server-side apply owns."""
        resource = self._resource(api_version, kind)
        return self._call(
            lambda: self.dynamic.patch(
                resource,
                body=body,
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
                _request_timeout=self.timeout,
            )
        ).to_dict()

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete with foreground-independent background propagation; False when it was already gone."""
        resource = self._resource(api_version, kind)
        try:
            self._call(
                lambda: self.dynamic.delete(
                    resource,
                    name=name,
                    namespace=namespace,
                    propagation_policy="Background",
                    _request_timeout=self.timeout,
                )
            )
            return True
        except KubeError as error:
            if error.status == 404:
                return False
            raise

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 30,
        stopped: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[str, dict]]:
        """Yield (event type, object) from `resource_version` on, for `timeout_seconds` in all, or until
        `stopped()` says so: a caller that stops must not leave the watch retrying an unreachable cluster.

        Without a version, the current objects come first as ("SYNC", object). A stream the server ends
        early (its own timeout, a restart, a dropped connection, a transient error) is resumed from the
        last resourceVersion seen, bookmarks included. When that version is too old (410 Gone), the
        objects are listed again: ("RELIST", {"metadata": {"resourceVersion": ...}}) first, then each
        current object as ("SYNC", object), so a caller keeping a cache drops what was not synced."""
        resource = self._resource(api_version, kind)
        deadline = time.monotonic() + timeout_seconds
        version = resource_version
        if version is None:
            version = yield from self._relist(api_version, kind, namespace, label_selector, announce=False)
        failures = 0
        while (remaining := deadline - time.monotonic()) > 0 and not (stopped and stopped()):
            try:
                for event_type, obj in self._stream(resource, namespace, label_selector, version, remaining):
                    version = obj.get("metadata", {}).get("resourceVersion") or version
                    failures = 0
                    if event_type != "BOOKMARK":
                        yield event_type, obj
            except WatchExpired:
                version = yield from self._relist(api_version, kind, namespace, label_selector, announce=True)
            except KubeError as error:
                failures += 1
                if not error.retryable:
                    raise
                self._sleep(
                    min(
                        random.uniform(0, min(self.backoff_max, self.backoff * 2**failures)),
                        max(deadline - time.monotonic(), 0),
                    )
                )

    def _stream(self, resource, namespace, label_selector, version, remaining: float):
        """One watch request, as (type, raw object); ends when the server ends the stream."""
        try:
            stream = self.dynamic.watch(
                resource,
                namespace=namespace,
                label_selector=label_selector,
                resource_version=version,
                watcher=k8s_watch.Watch(),
                timeout=max(1, int(remaining)),
                allow_watch_bookmarks=True,
            )
            for event in stream:
                obj = event["raw_object"]
                if event["type"] == "ERROR":
                    raise _error_from(ApiException(status=obj.get("code"), reason=obj.get("message")))
                yield event["type"], obj
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error_from(exc) from exc

    def _relist(self, api_version, kind, namespace, label_selector, *, announce: bool):
        """List afresh; yield the RELIST marker (when announced) and a SYNC per object; return the version."""
        items, version = self.list(api_version, kind, namespace, label_selector)
        if announce:
            yield "RELIST", {"metadata": {"resourceVersion": version}}
        for item in items:
            yield "SYNC", item
        return version

    def newest_logs(
        self,
        namespace: str,
        pod: str,
        *,
        limit: int,
        container: str | None = None,
        tail: int | None = None,
        since: int | None = None,
        timestamps: bool = False,
    ) -> tuple[str, bool]:
        """The pod's log lines as text (the last `tail` lines, or those of the last `since` seconds; with
        `timestamps`, each begins with the time the cluster says it was written and a space), at most the
        newest `limit` bytes of them, from the start of a line, read as they arrive so that a pod writing
        long lines costs no more memory than that; and whether older lines were left out. (The API's own
        limitBytes keeps the oldest bytes instead.)"""
        options = {"container": container, "tail_lines": tail, "since_seconds": since, "timestamps": timestamps or None}

        def read() -> tuple[bytes, bool]:
            response = k8s.CoreV1Api(self.api_client).read_namespaced_pod_log(
                pod,
                namespace,
                _request_timeout=self.timeout,
                _preload_content=False,
                **{key: value for key, value in options.items() if value is not None},
            )
            kept, cut = bytearray(), False
            try:
                if not 200 <= response.status <= 299:
                    response.read()
                    raise ApiException(http_resp=response)
                for chunk in response.stream(64 * 1024):
                    kept += chunk
                    if len(kept) > 2 * limit:
                        del kept[: len(kept) - limit]
                        cut = True
            finally:
                response.release_conn()
            if len(kept) > limit:
                del kept[: len(kept) - limit]
                cut = True
            if cut:  # from the first whole line on
                del kept[: kept.find(b"\n") + 1]
            return bytes(kept), cut

        text, cut = self._call(read)
        return text.decode("utf-8", errors="replace"), cut

    def follow_logs(
        self, namespace: str, pod: str, *, container: str | None = None, tail: int | None = None
    ) -> LogFollow:
        """The pod's log as it is written: (time, line) pairs, the last `tail` lines first, until the
        container stops or the pod goes; `close()` from another thread ends it at once."""
        return LogFollow(self, namespace, pod, container=container, tail=tail)

    def rollout_status(self, namespace: str, name: str) -> RolloutStatus | None:
        deployment = self.get("apps/v1", "Deployment", name, namespace)
        return RolloutStatus.from_deployment(deployment) if deployment else None


class LogFollow:
    """One pod's log followed (`follow=true&timestamps=true`) for as long as the pod exists.

    The server ends a follow when the container stops; a crash-looping container starts again, so the
    log is opened again after `PAUSE_SECONDS` (and while the container waits to start, the server's 400
    is waited out the same way). A stream quiet for `QUIET_SECONDS` is opened again too. Each reopening
    reaches back to just before the last one, and lines already yielded (by their timestamps) are
    skipped, so nothing is repeated. It ends when the pod is gone (404) or `close()` is called, which
    another thread may do: it wakes a blocked read at once."""

    QUIET_SECONDS = 30
    PAUSE_SECONDS = 1.0

    def __init__(self, kube: KubeClient, namespace: str, pod: str, *, container: str | None, tail: int | None):
        self.kube, self.namespace, self.pod, self.container, self.tail = kube, namespace, pod, container, tail
        self._closed = threading.Event()
        self._response = None
        self._last_at = ""
        self._at_last: set[str] = set()

    def close(self) -> None:
        self._closed.set()
        response = self._response
        if response is not None:
            # A read ended meanwhile has given its connection back to the pool: nothing to wake then.
            with contextlib.suppress(RuntimeError):
                response.shutdown()

    def _open(self, first: bool, opened_at: float):
        options: dict = {"follow": True, "timestamps": True, "_preload_content": False}
        if self.container:
            options["container"] = self.container
        if first and self.tail is not None:
            options["tail_lines"] = self.tail
        elif not first:
            options["since_seconds"] = max(1, int(time.monotonic() - opened_at) + 5)
        return self.kube._call(
            lambda: k8s.CoreV1Api(self.kube.api_client).read_namespaced_pod_log(
                self.pod, self.namespace, _request_timeout=(self.kube.timeout[0], self.QUIET_SECONDS), **options
            )
        )

    def _fresh(self, at: str, text: str) -> bool:
        if at < self._last_at or (at == self._last_at and text in self._at_last):
            return False
        if at != self._last_at:
            self._last_at, self._at_last = at, set()
        self._at_last.add(text)
        return True

    def __iter__(self) -> Iterator[tuple[str, str]]:
        first, opened_at = True, time.monotonic()
        while not self._closed.is_set():
            try:
                self._response = self._open(first, opened_at)
            except KubeError as error:
                if error.status == 404 or self._closed.is_set():
                    return  # the pod is gone
                if error.status != 400:
                    raise
                self._closed.wait(self.PAUSE_SECONDS)  # the container waits to start
                continue
            first, opened_at = False, time.monotonic()
            try:
                yield from self._lines(self._response)
                self._closed.wait(self.PAUSE_SECONDS)  # the container stopped; it may start again
            except (urllib3.exceptions.HTTPError, OSError, ValueError):
                pass  # quiet for QUIET_SECONDS, cut, or closed: open it again (or stop, when closed)
            finally:
                self._response.release_conn()

    def _lines(self, response) -> Iterator[tuple[str, str]]:
        rest = b""
        for chunk in response.stream(4096):
            *lines, rest = (rest + chunk).split(b"\n")
            for raw in lines:
                at, _, text = raw.decode("utf-8", "replace").partition(" ")
                if self._fresh(at, text):
                    yield at, text
