"""Watch streams: newline-delimited JSON events over a chunked HTTP response.

A watch registers with the store in the same synchronous step that takes its starting point (the
current objects, or the history after `resourceVersion`), so no change is lost or sent twice.
A resourceVersion older than the retained history gets, as from a real API server, an HTTP 200
stream holding one ERROR event with a 410 Expired Status. Events wait in a per-watch list and
go out in one write per loop turn, which keeps a status change's trip to every watcher short.
"""

import asyncio
from dataclasses import dataclass

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

    async def sleep(self, seconds: float | None) -> None:
        """Until an event arrives, the watch closes, or (unless None) the seconds pass."""
        self.wakeup.clear()
        timer = asyncio.get_running_loop().call_later(seconds, self.wakeup.set) if seconds is not None else None
        await self.wakeup.wait()
        if timer is not None:
            timer.cancel()


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> bytes:
    metadata = {"resourceVersion": str(rv)}
    if initial_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return (
        encode({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata}})
        + b"\n"
    )


def flag(value: str | None) -> bool:
    return value in ("1", "true", "True")


@dataclass(frozen=True)
class WatchOptions:
    """What a watch request asks for. `since` is None when the watch starts from the current objects."""

    bookmarks: bool
    send_initial: bool
    timeout: float | None
    since: int | None

    @classmethod
    def from_query(cls, params) -> "WatchOptions":
        """The options, or a 400 for a timeout or resourceVersion that is not a number."""
        try:
            timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
        except ValueError:
            raise bad_request("timeoutSeconds must be a number") from None
        send_initial = flag(params.get("sendInitialEvents"))
        start = params.get("resourceVersion") or "0"
        since = None
        # With sendInitialEvents the resourceVersion is only a lower bound, never parsed, as before.
        if not (send_initial or start == "0"):
            try:
                since = int(start)
            except ValueError:
                raise bad_request(f"invalid resourceVersion {start!r}") from None
        return cls(
            bookmarks=flag(params.get("allowWatchBookmarks")), send_initial=send_initial, timeout=timeout, since=since
        )


def _opening(store, watcher: Watcher, options: WatchOptions) -> list[bytes]:
    """The lines a watch opens with: the current objects as ADDED (and the initial-events bookmark), or
    nothing, with the changes after `since` queued on the watcher. APIError 410 when history is too short."""
    if options.since is None:
        opening = [
            watcher.initial(obj) for obj in store.list(watcher.rt, watcher.namespace) if watcher.selection.matches(obj)
        ]
        if options.send_initial and options.bookmarks:
            opening.append(_bookmark(watcher.rt, store.rv, initial_end=True))
        return opening
    for change in store.changes_since(watcher.rt, options.since):
        watcher.offer(change)
    return []


def _expired(error: APIError) -> web.Response:
    """As from a real API server: an HTTP 200 stream holding one ERROR event with the Status."""
    return web.Response(
        body=encode({"type": "ERROR", "object": error.status()}) + b"\n", content_type="application/json"
    )


def _next_wait(deadline: float | None, bookmark_every: float | None) -> float | None:
    """Seconds until the next bookmark or the timeout, whichever is sooner; None waits for an event alone."""
    if deadline is None:
        return bookmark_every
    remaining = deadline - asyncio.get_running_loop().time()
    return remaining if bookmark_every is None else min(bookmark_every, remaining)


async def _stream(
    response: web.StreamResponse,
    store,
    watcher: Watcher,
    options: WatchOptions,
    deadline: float | None,
    bookmark_interval: float,
) -> None:
    """Write what is pending in one write per loop turn; between writes, wait for an event, the next
    bookmark or the timeout."""
    while not watcher.closed:
        if watcher.pending:
            batch, watcher.pending = watcher.pending, []
            await response.write(b"".join(batch))
            continue
        wait = _next_wait(deadline, bookmark_interval if options.bookmarks else None)
        if deadline is not None and wait <= 0:
            return
        await watcher.sleep(wait)
        if options.bookmarks and not watcher.pending and not watcher.closed:
            await response.write(_bookmark(watcher.rt, store.rv))


async def serve(
    request: web.Request,
    store,
    rt: ResourceType,
    namespace: str | None,
    selection: Selection,
    as_table: bool,
    bookmark_interval: float,
) -> web.StreamResponse:
    """One watch request, from its opening lines until the client leaves, the timeout passes or the
    watcher falls too far behind."""
    options = WatchOptions.from_query(request.query)
    watcher = Watcher(rt, namespace, selection, as_table)
    try:
        opening = _opening(store, watcher, options)
    except APIError as error:
        return _expired(error)
    store.subscribe(rt, watcher)
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    deadline = asyncio.get_running_loop().time() + options.timeout if options.timeout else None
    try:
        await response.prepare(request)
        if opening:
            await response.write(b"".join(opening))
        await _stream(response, store, watcher, options, deadline, bookmark_interval)
        await response.write_eof()
    except ConnectionError:
        pass
    finally:
        store.unsubscribe(rt, watcher)
    return response
