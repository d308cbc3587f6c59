"""Watch streams: newline-delimited JSON events over a chunked HTTP response.

A watch registers with the store in the same synchronous step that takes its starting point (the
current objects, or the history after `resourceVersion`), so no change is lost or sent twice.
A resourceVersion older than the retained history gets, as from a real API server, an HTTP 200
stream holding one ERROR event with a 410 Expired Status. Events wait in a per-watch list and
go out in one write per loop turn, which keeps a status change's trip to every watcher short.
"""

import asyncio

from aiohttp import web

from .errors import APIError, bad_request
from .kinds import ResourceType
from .matching import Selection
from .store import ADDED, DELETED, MODIFIED, Change, encode
from .tables import table

_MAX_PENDING = 10000


class Watcher:
    """One open watch: its filters and the lines waiting to be written."""

    def __init__(self, rt: ResourceType, namespace: str | None, selection: Selection, as_table: bool):
        self.rt = rt
        self.namespace = namespace
        self.selection = selection
        self.as_table = as_table
        self.pending: list[bytes] = []
        self.wakeup = asyncio.Event()
        self.closed = False

    def offer(self, change: Change) -> None:
        if self.namespace and change.namespace != self.namespace:
            return
        type_ = change.type
        if self.selection:
            now = self.selection.matches(change.obj)
            if type_ == MODIFIED:
                before = self.selection.matches(change.old)
                if not (before or now):
                    return
                type_ = MODIFIED if before and now else (ADDED if now else DELETED)
            elif not now:
                return
        self.pending.append(self._line(type_, change.obj) if self.as_table else change.line(type_))
        if len(self.pending) > _MAX_PENDING:
            self.close()
        self.wakeup.set()

    def _line(self, type_: str, obj: dict) -> bytes:
        if self.as_table:
            obj = table(self.rt.kind, [obj], resource_version=obj["metadata"]["resourceVersion"])
        return b'{"type":"' + type_.encode() + b'","object":' + encode(obj) + b"}\n"

    def initial(self, obj: dict) -> bytes:
        return self._line(ADDED, obj)

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> bytes:
    metadata = {"resourceVersion": str(rv)}
    if initial_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return encode({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version,
                                                  "metadata": metadata}}) + b"\n"


def flag(value: str | None) -> bool:
    return value in ("1", "true", "True")


async def serve(request: web.Request, store, rt: ResourceType, namespace: str | None, selection: Selection,
                as_table: bool, bookmark_interval: float) -> web.StreamResponse:
    params = request.query
    watcher = Watcher(rt, namespace, selection, as_table)
    bookmarks = flag(params.get("allowWatchBookmarks"))
    send_initial = flag(params.get("sendInitialEvents"))
    try:
        timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
    except ValueError:
        raise bad_request("timeoutSeconds must be a number") from None
    start = params.get("resourceVersion") or "0"
    opening: list[bytes] = []
    if send_initial or start == "0":
        opening = [watcher.initial(obj) for obj in store.list(rt, namespace) if selection.matches(obj)]
        if send_initial and bookmarks:
            opening.append(_bookmark(rt, store.rv, initial_end=True))
    else:
        try:
            since = int(start)
        except ValueError:
            raise bad_request(f"invalid resourceVersion {start!r}") from None
        try:
            for change in store.changes_since(rt, since):
                watcher.offer(change)
        except APIError as error:
            response = web.Response(body=encode({"type": "ERROR", "object": error.status()}) + b"\n",
                                    content_type="application/json")
            return response
    store.subscribe(rt, watcher)
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    try:
        await response.prepare(request)
        if opening:
            await response.write(b"".join(opening))
        while not watcher.closed:
            if watcher.pending:
                batch, watcher.pending = watcher.pending, []
                await response.write(b"".join(batch))
                continue
            wait = bookmark_interval if bookmarks else None
            if deadline is not None:
                wait = min(wait if wait is not None else deadline, deadline - loop.time())
                if wait <= 0:
                    break
            watcher.wakeup.clear()
            timer = loop.call_later(wait, watcher.wakeup.set) if wait is not None else None
            await watcher.wakeup.wait()
            if timer is not None:
                timer.cancel()
            if bookmarks and not watcher.pending and not watcher.closed:
                await response.write(_bookmark(rt, store.rv))
        await response.write_eof()
    except ConnectionError:
        pass
    finally:
        store.unsubscribe(rt, watcher)
    return response

