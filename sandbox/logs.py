"""A pod's `log` subresource: what its simulated containers wrote, read once or followed.

There are no real processes. A container's log holds one line when it starts and one when it exits
(written as the kubelet's status changes), plus whatever was written to it through the sandbox's
test aid `POST /sandbox/pods/<namespace>/<name>/log`, which stands for the process printing to
stdout. As on a real API server, `tailLines`, `sinceSeconds` and `timestamps` (each line prefixed
with the RFC 3339 time it was written, nine fraction digits) shape the answer, and `follow=true`
keeps the response open, writing each new line as it is written, until the container stops running
or the pod is deleted (the kubelet ends a follow when its container exits).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from aiohttp import web

from .errors import bad_request
from .kinds import PODS
from .store import DELETED

# (the container instance: its restart count when it ran, RFC 3339 time with nine fraction digits, text).
Entry = tuple[int, str, str]


def stamp(at: float | None = None) -> str:
    """The time a line was written, as the kubelet prefixes it (RFC3339NanoFixed)."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


class ContainerOutput:
    """Each container's log by pod uid and container: a line when an instance starts and when it exits,
    written as the kubelet's status says so, and the lines written through the test aid; and who follows."""

    def __init__(self, store):
        self.store = store
        self._written: dict[str, dict[str, list[Entry]]] = {}
        self._followers: dict[str, set[asyncio.Event]] = {}
        self.ended = False  # the server is stopping: every follow ends, as an API server going away ends them
        store.listen(self._on_change)

    def write(self, pod: dict, container: str | None, lines: list[str]) -> None:
        name = _container(pod, container)
        self._append(pod, name, _status(pod, name).get("restartCount", 0), lines)

    def _append(self, pod: dict, container: str, instance: int, lines: list[str]) -> None:
        at = stamp()
        entries = self._written.setdefault(pod["metadata"]["uid"], {}).setdefault(container, [])
        entries.extend((instance, at, line) for line in lines)
        self._wake(pod["metadata"]["uid"])

    def entries(self, pod: dict, container: str | None) -> list[Entry]:
        """The container's log, oldest first: the running (or last) instance's lines and the one's
        before it; older instances' logs are gone, as from a node."""
        name = _container(pod, container)
        restarts = _status(pod, name).get("restartCount", 0)
        written = self._written.get(pod["metadata"]["uid"], {}).get(name, [])
        return sorted((entry for entry in written if entry[0] >= restarts - 1), key=lambda entry: entry[:2])

    def follower(self, uid: str) -> asyncio.Event:
        event = asyncio.Event()
        self._followers.setdefault(uid, set()).add(event)
        return event

    def unfollow(self, uid: str, event: asyncio.Event) -> None:
        self._followers.get(uid, set()).discard(event)

    def _wake(self, uid: str) -> None:
        for event in self._followers.get(uid, ()):
            event.set()

    def end_follows(self) -> int:
        """End every open follow now with a clean end of stream (the server is stopping); a follow asked
        for after this gets the lines so far and ends. Returns how many were open."""
        self.ended = True
        events = [event for events in self._followers.values() for event in events]
        for event in events:
            event.set()
        return len(events)

    def _on_change(self, change) -> None:
        if change.rt is not PODS:
            return
        uid = change.obj["metadata"]["uid"]
        if change.type == DELETED:
            self._written.pop(uid, None)
        else:
            self._note_states(change.obj, change.old)
        self._wake(uid)

    def _note_states(self, pod: dict, old: dict | None) -> None:
        """Write the exit of an instance that ended and the start of one that began, as they happen."""
        before = {c["name"]: c for c in ((old or {}).get("status") or {}).get("containerStatuses") or ()}
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            name, previous = status["name"], before.get(status["name"], {})
            restarts = status.get("restartCount", 0)
            ended = (status.get("lastState") or {}).get("terminated")
            if ended and ended != (previous.get("lastState") or {}).get("terminated"):
                self._append(
                    pod, name, restarts - 1, [f"sandbox: container {name} exited with code {ended.get('exitCode')}"]
                )
            running = (status.get("state") or {}).get("running")
            if running and running != (previous.get("state") or {}).get("running"):
                self._append(pod, name, restarts, [f"sandbox: container {name} started from {status.get('image', '')}"])


def _status(pod: dict, container: str) -> dict:
    return next((c for c in (pod.get("status") or {}).get("containerStatuses") or () if c["name"] == container), {})


def _container(pod: dict, container: str | None) -> str:
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    name = container or (names[0] if names else "")
    if name not in names:
        raise bad_request(f"container {name} is not valid for pod {pod['metadata']['name']}")
    return name


def _running(pod: dict, container: str) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    return any(c["name"] == container and "running" in (c.get("state") or {}) for c in statuses)


def _number(query, key: str) -> int | None:
    if not query.get(key):
        return None
    try:
        value = int(query[key])
    except ValueError:
        raise bad_request(f"{key} must be an integer") from None
    least = 1 if key == "sinceSeconds" else 0
    if value < least:
        raise bad_request(f"{key}: Invalid value: {value}: must be at least {least}")
    return value


def _chosen(entries: list[Entry], tail: int | None, since: int | None) -> list[Entry]:
    if since is not None:
        entries = [entry for entry in entries if entry[1] >= stamp(time.time() - since)]
    if tail is not None:
        entries = entries[-tail:] if tail else []
    return entries


def _text(entries: list[Entry], timestamps: bool) -> bytes:
    return "".join(f"{at} {line}\n" if timestamps else f"{line}\n" for _, at, line in entries).encode()


async def serve(request: web.Request, store, output: ContainerOutput, pod: dict) -> web.StreamResponse:
    """GET .../pods/<name>/log: the lines at once, or (follow=true) a stream of them as they come."""
    query = request.query
    container = _container(pod, query.get("container"))
    tail, since = _number(query, "tailLines"), _number(query, "sinceSeconds")
    timestamps = query.get("timestamps") in ("1", "true", "True")
    entries = _chosen(output.entries(pod, container), tail, since)
    if query.get("follow") not in ("1", "true", "True") or not _running(pod, container):
        return web.Response(body=_text(entries, timestamps), content_type="text/plain")
    uid = pod["metadata"]["uid"]
    sent = set(output.entries(pod, container))  # lines before the tail count as seen, not as new
    wakeup = output.follower(uid)
    response = web.StreamResponse(headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        if entries:
            await response.write(_text(entries, timestamps))
        while not output.ended:
            await wakeup.wait()
            wakeup.clear()
            if output.ended:
                break  # the server is stopping
            current = store.by_uid(uid)
            if current is None:
                break  # the pod was deleted
            new = [entry for entry in output.entries(current, container) if entry not in sent]
            if new:
                sent.update(new)
                await response.write(_text(new, timestamps))
            if not _running(current, container):
                break  # the container exited: its log ends here
        await response.write_eof()
    except ConnectionError:
        pass
    finally:
        output.unfollow(uid, wakeup)
    return response
