"""The sandbox cluster as a server: in-process for tests (`SandboxCluster`), or on its own (`run`).

`SandboxServer` assembles the store, registry, controllers and HTTP routes on one asyncio loop.
`SandboxCluster` runs a server on a loop in a background thread, which is what tests and the
portal's local run use; `run` serves in the foreground until SIGINT or SIGTERM (the management
command and `python -m sandbox`).
"""

import asyncio
import json
import signal
import threading
import time
from collections import Counter, deque
from dataclasses import replace
from pathlib import Path
from typing import Self

from aiohttp import web

from . import discovery
from .access import AccessLog, applied_object, attributes, log_file_from_environment
from .api import KubernetesAPI, error_response, respond
from .controllers import ControllerManager, Timing
from .errors import APIError, not_supported, unknown_path
from .faults import Faults
from .kinds import BY_PATH, NAMESPACES, PODS
from .logs import ContainerOutput
from .persistence import StateFile
from .registry import Registry
from .store import DELETED, Store

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it comes with uvicorn[standard]), which roughly halves per-request overhead."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class SandboxServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file=None,
        timing: Timing | None = None,
        history_size: int = 20000,
        bookmark_interval: float = 1.0,
        access_log=None,
    ):
        self.host = host
        self.port = port
        self.timing = timing or Timing()
        self.faults = Faults()
        self.store = Store(history_size)
        self.registry = Registry(self.store)
        self.output = ContainerOutput(self.store)
        self._state_file = StateFile(state_file) if state_file else None
        self._bookmark_interval = bookmark_interval
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self.controllers: ControllerManager | None = None
        # When each pod went away, to the microsecond (Events carry whole seconds): tests compare it with
        # the moment a client declared a rollout finished. A test aid under /sandbox, not an API object.
        self.pod_terminations: deque[dict] = deque(maxlen=10000)
        # Requests to the Kubernetes API by verb (watch, get/list, and the writes), as an API server's
        # apiserver_request_total counts them: what benchmarks of a client's polling read.
        self.requests: Counter[str] = Counter()
        # Each request's authorization attributes (verb, group, resource, ...) by user agent; appended to
        # `access_log` (default: $SANDBOX_ACCESS_LOG) when the server stops.
        self.access = AccessLog()
        self._access_file = access_log or log_file_from_environment()
        self.store.listen(self._note_termination)

    def _note_termination(self, change) -> None:
        if change.rt is PODS and change.type == DELETED:
            metadata = change.obj["metadata"]
            self.pod_terminations.append(
                {
                    "namespace": metadata.get("namespace", ""),
                    "name": metadata["name"],
                    "labels": metadata.get("labels") or {},
                    "at": time.time(),
                }
            )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._state_file:
            snapshot = self._state_file.load()
            if snapshot:
                self.store.restore(snapshot)
                self.registry = Registry(self.store)
        for name in DEFAULT_NAMESPACES:
            if self.store.get(NAMESPACES, "", name) is None:
                self.registry.create(NAMESPACES, {"metadata": {"name": name}})
        self.controllers = ControllerManager(self.store, self.registry, self.timing)
        self.controllers.start()
        self._runner = web.AppRunner(self._application(), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self._state_file:
            self._tasks.append(asyncio.create_task(self._state_file.keep_saving(self.store)))

    async def stop(self) -> None:
        # Streams that would stay open (watches, followed logs) end first: the runner's cleanup waits for
        # every open request (up to a minute) before it lets the server go.
        self.drop_watches()
        self.output.end_follows()
        if self._runner:
            await self._runner.cleanup()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.controllers:
            await self.controllers.stop()
        if self._state_file:
            await self._state_file.save(self.store)
        if self._access_file:
            self.access.append_to(self._access_file)

    def _application(self) -> web.Application:
        api = KubernetesAPI(self.store, self.registry, self.output, bookmark_interval=self._bookmark_interval)
        app = web.Application(middlewares=[self._count, self.faults.middleware()], client_max_size=16 * 1024 * 1024)
        # What a real API server does and the sandbox does not: a Status that says so (first match wins).
        for path, what in UNSUPPORTED:
            app.router.add_route("*", path, _unsupported(what))
        app.router.add_post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", _access_review)
        app.router.add_route("*", "/api{tail:(/.*)?}", api.handle)
        app.router.add_route("*", "/apis{tail:(/.*)?}", api.handle)
        app.router.add_get("/version{slash:/?}", _static(discovery.KUBERNETES_VERSION))
        app.router.add_get("/openapi/v3", _static(discovery.openapi_root()))
        app.router.add_get("/openapi/v3/{path:.*}", self._openapi_document)
        for probe in ("/healthz", "/livez", "/readyz"):
            app.router.add_get(probe, _ok)
        app.router.add_get("/sandbox/state", self._state)
        app.router.add_get("/sandbox/pod-terminations", self._pod_terminations)
        app.router.add_get("/sandbox/access", self._access)
        app.router.add_post("/sandbox/faults", self._set_faults)
        app.router.add_delete("/sandbox/faults", self._clear_faults)
        app.router.add_post("/sandbox/pods/{namespace}/{name}/log", self._write_log)
        return app

    async def _write_log(self, request: web.Request) -> web.Response:
        """A test aid: the pod's container prints `lines` (JSON `{"lines": [...], "container": "web"}`)."""
        try:
            body = json.loads(await request.read() or b"{}")
            lines = [str(line) for line in body["lines"]]
        except (ValueError, TypeError, KeyError):
            return web.json_response({"error": 'the body must be {"lines": ["..."], "container": "..."}'}, status=400)
        pod = self.store.get(PODS, request.match_info["namespace"], request.match_info["name"])
        if pod is None:
            return web.json_response({"error": "no such pod"}, status=404)
        try:
            self.output.write(pod, body.get("container"), lines)
        except APIError as error:
            return error_response(error)
        return web.json_response({"written": len(lines)})

    @web.middleware
    async def _count(self, request: web.Request, handler):
        if request.path.startswith(("/api/", "/apis/")):
            verb = request.method.lower()
            if verb == "get":
                verb = "watch" if request.query.get("watch") in ("1", "true", "True") else "get"
            self.requests[verb] += 1
            self._note_access(request)
        return await handler(request)

    def _note_access(self, request: web.Request) -> None:
        access = attributes(request.method, request.path, request.query, request.headers.get("User-Agent", ""))
        self.access.record(access)
        if access.verb == "patch" and request.content_type == "application/apply-patch+yaml":
            target = applied_object(request.path)
            rt = BY_PATH.get(target[0]) if target else None
            if rt is not None and self.store.get(rt, target[1] if rt.namespaced else "", target[2]) is None:
                self.access.record(replace(access, verb="create"))

    async def _state(self, request: web.Request) -> web.Response:
        return respond(self.state())

    async def _access(self, request: web.Request) -> web.Response:
        return respond({"items": self.access.entries()})

    async def _pod_terminations(self, request: web.Request) -> web.Response:
        return respond({"items": list(self.pod_terminations)})

    @staticmethod
    async def _openapi_document(request: web.Request) -> web.Response:
        parts = request.match_info["path"].split("/")
        if parts[0] == "api" and len(parts) == 2:
            document = discovery.openapi_document("", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            document = discovery.openapi_document(parts[1], parts[2])
        else:
            document = None
        return respond(document) if document else error_response(unknown_path())

    async def _set_faults(self, request: web.Request) -> web.Response:
        try:
            settings = json.loads(await request.read() or b"{}")
            if not isinstance(settings, dict):
                raise TypeError("the body must be a JSON object")
            drop = bool(settings.pop("drop_watches", False))
            self.faults.configure(**settings)
        except (ValueError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        if drop:
            self.drop_watches()
        return respond(self.faults.as_dict())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return respond(self.faults.as_dict())

    def drop_watches(self) -> int:
        """End every open watch stream now; clients see a clean end of stream and must resume."""
        watchers = self.store.watchers()
        for watcher in watchers:
            watcher.close()
        self.faults.injected["dropped_watches"] += len(watchers)
        return len(watchers)

    def state(self) -> dict:
        return {
            "url": self.url,
            "resourceVersion": str(self.store.rv),
            "oldestResumableVersion": str(self.store.compacted_rv),
            "objects": {key: n for key, n in self.store.counts().items() if n},
            "watches": len(self.store.watchers()),
            "requests": dict(self.requests),
            "faults": self.faults.as_dict(),
            "timing": vars(self.timing),
            "stateFile": str(self._state_file.path) if self._state_file else None,
        }


UNSUPPORTED = [
    ("/api/v1/namespaces/{namespace}/pods/{name}/exec", "exec: containers are simulated and run no processes"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/attach", "attach: containers are simulated and run no processes"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/portforward", "port-forward: simulated pods listen on no ports"),
    (
        "/api/v1/namespaces/{namespace}/{kind:pods|services}/{name}/proxy{tail:(/.*)?}",
        "proxying to pods or services: simulated pods serve no traffic",
    ),
    ("/openapi/v2", "OpenAPI v2; it serves OpenAPI v3 at /openapi/v3 (kubectl explain needs a real cluster)"),
]


def _unsupported(what: str):
    async def handler(request: web.Request) -> web.Response:
        return error_response(not_supported(what))

    return handler


async def _access_review(request: web.Request) -> web.Response:
    """`kubectl auth can-i` and the portal's cluster check: the sandbox has no RBAC, so the truthful
    answer to every question is yes, with that reason."""
    try:
        review = json.loads(await request.read() or b"{}")
    except ValueError:
        review = {}
    return respond(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": (review or {}).get("spec") or {},
            "status": {"allowed": True, "reason": "the sandbox cluster has no RBAC: every request is allowed"},
        },
        status=201,
    )


def _static(body: dict):
    async def handler(request: web.Request) -> web.Response:
        return respond(body)

    return handler


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def kubeconfig(url: str, *, namespace: str = "default", token: str = "sandbox") -> dict:
    """A kubeconfig for the sandbox: plain HTTP, a dummy bearer token (the sandbox accepts any)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "sandbox", "cluster": {"server": url}}],
        "users": [{"name": "sandbox", "user": {"token": token}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox", "namespace": namespace}}],
        "current-context": "sandbox",
    }


class SandboxCluster:
    """A sandbox server on a background thread: `with SandboxCluster() as cluster: ... cluster.url`.

    Defaults are fast for tests (pods Ready after 0.2 s, autoscalers every 0.2 s, a free port).
    Every keyword of `Timing` can be given, plus host, port, state_file, history_size,
    bookmark_interval and access_log (a file the access log is appended to when it stops).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file=None,
        history_size: int = 20000,
        bookmark_interval: float = 1.0,
        access_log=None,
        **timing,
    ):
        timing = {
            "ready_after": 0.2,
            "hpa_interval": 0.2,
            "backoff": 0.2,
            "backoff_max": 1.0,
            "retry_after": 0.3,
            **timing,
        }
        self.server = SandboxServer(
            host,
            port,
            state_file=state_file,
            timing=Timing(**timing),
            history_size=history_size,
            bookmark_interval=bookmark_interval,
            access_log=access_log,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Self:
        started, failure = threading.Event(), []
        self._loop = new_event_loop()

        def serve():
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.server.start())
            except Exception as error:  # noqa: BLE001 - handed to the starting thread, which re-raises it
                failure.append(error)
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.server.stop())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="sandbox-cluster", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def call(self, function, *args):
        """Run function(*args) on the server's loop and return its result: the safe way to touch the store."""

        async def invoke():
            return function(*args)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(timeout=10)

    def inject_faults(self, *, drop_watches: bool = False, **settings) -> dict:
        """Same settings as POST /sandbox/faults: error_rate, latency_ms, force_conflicts, methods, seed."""

        def configure():
            self.server.faults.configure(**settings)
            if drop_watches:
                self.server.drop_watches()
            return self.server.faults.as_dict()

        return self.call(configure)

    def clear_faults(self) -> None:
        self.call(self.server.faults.clear)

    def drop_watches(self) -> int:
        return self.call(self.server.drop_watches)

    def state(self) -> dict:
        return self.call(self.server.state)

    def write_log(self, namespace: str, pod: str, *lines: str, container: str | None = None) -> None:
        """The pod's container prints `lines`, as a process writing to stdout would."""

        def write():
            obj = self.server.store.get(PODS, namespace, pod)
            if obj is None:
                raise LookupError(f"no pod {namespace}/{pod}")
            self.server.output.write(obj, container, list(lines))

        self.call(write)

    def pod_terminations(self) -> list[dict]:
        """Every pod deleted so far, oldest first: namespace, name, labels and `at` (Unix time, seconds)."""
        return self.call(lambda: list(self.server.pod_terminations))

    def access(self) -> list[dict]:
        """Every distinct set of request attributes so far (agent, verb, group, resource, subresource,
        namespaced, non_resource) with its count."""
        return self.call(self.server.access.entries)

    def kubeconfig(self, namespace: str = "default") -> dict:
        return kubeconfig(self.url, namespace=namespace)

    def write_kubeconfig(self, path, namespace: str = "default") -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.kubeconfig(namespace), indent=2))
        return path

    def api_client(self):
        """An official kubernetes-client ApiClient pointed at this cluster."""
        from kubernetes import client

        configuration = client.Configuration(host=self.url)
        configuration.api_key = {"authorization": "sandbox"}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(configuration)


def run(host: str = "127.0.0.1", port: int = 8001, *, state_file=None, announce=print, **timing) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then save the state file (if any) and stop."""

    async def main():
        server = SandboxServer(host, port, state_file=state_file, timing=Timing(**timing))
        await server.start()
        announce(f"sandbox cluster listening on {server.url} (kubectl --server={server.url})")
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        await server.stop()
        announce("sandbox cluster stopped")

    loop = new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
