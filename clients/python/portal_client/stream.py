"""Watch one deployment live: the WebSocket stream for promptness, the events API for completeness.

The socket is a notification channel and the database is the record. So the watcher subscribes first,
then asks `GET /deployments/{id}/events/?after_seq=N` for anything it has not seen, and does so again
whenever a seq jumps, the socket drops, or it has been quiet a while. Events are handed over once each,
in seq order. When the socket cannot be opened at all it polls the events endpoint instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .client import PortalClient, PortalError

TERMINAL = frozenset({"succeeded", "failed", "rolled_back", "cancelled"})
# Close codes the portal's consumers use: the key is not accepted / the deployment is not visible.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
QUIET_CATCH_UP_SECONDS = 10.0
RECONNECTS = 5


class Watcher:
    """Delivers each event of one deployment to `on_event` exactly once, in seq order, until it ends."""

    def __init__(
        self,
        client: PortalClient,
        deployment_id: int,
        on_event: Callable[[dict], None],
        *,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        use_socket: bool = True,
        on_notice: Callable[[str], None] | None = None,
    ):
        self.client = client
        self.deployment_id = int(deployment_id)
        self.on_event = on_event
        self.on_notice = on_notice or (lambda message: None)
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.poll_interval = poll_interval
        self.use_socket = use_socket
        self.last_seq = 0
        self.state: str | None = None

    # --- the public entry ----------------------------------------------------------------------

    def run(self) -> str:
        """Watch until the deployment reaches a terminal state; return that state."""
        self.state = self.client.deployment(self.deployment_id)["state"]
        self.catch_up()
        reconnects = 0
        while not self.finished():
            if self.use_socket:
                try:
                    self._stream()
                    reconnects = 0
                except _SocketUnavailable as reason:
                    if reconnects >= RECONNECTS:
                        self.on_notice(f"live stream unavailable ({reason}); polling the events API")
                        self.use_socket = False
                    reconnects += 1
                    self._sleep(min(0.5 * 2**reconnects, 5.0))
                self.catch_up()
            else:
                self._sleep(self.poll_interval)
                self.catch_up()
        return self.state

    # --- the record ----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Fetch and deliver every stored event after the last one delivered."""
        while True:
            rows = self.client.events(self.deployment_id, after_seq=self.last_seq)
            for row in rows:
                self._deliver(row)
            if len(rows) < 1000:
                break
        if self.state not in TERMINAL:
            # Terminal states are recorded as events, but ask the row too: it is the truth.
            self.state = self.client.deployment(self.deployment_id)["state"]

    def _deliver(self, event: dict) -> None:
        seq = int(event["seq"])
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        if event.get("kind") == "state" and event.get("state"):
            self.state = event["state"]
        if event.get("deployment_state"):
            self.state = event["deployment_state"]
        self.on_event(event)

    def finished(self) -> bool:
        if self.state in TERMINAL:
            return True
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise PortalError(
                0, "timeout", f"Deployment {self.deployment_id} is still {self.state}; stopped watching (timeout)."
            )
        return False

    def _sleep(self, seconds: float) -> None:
        if self.deadline is not None:
            seconds = max(0.0, min(seconds, self.deadline - time.monotonic()))
        time.sleep(seconds)

    # --- the socket ----------------------------------------------------------------------------

    def _stream(self) -> None:
        """One socket session: subscribe, catch up, then deliver pushes until the end or a drop."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake
        from websockets.sync.client import connect

        url = self.client.websocket_url(f"/ws/deployments/{self.deployment_id}/")
        try:
            socket = connect(
                url,
                additional_headers={"Authorization": f"Bearer {self.client.api_key}"},
                open_timeout=10,
                user_agent_header="portalctl/0.1",
            )
        except (OSError, InvalidHandshake, TimeoutError) as error:
            raise _SocketUnavailable(str(error) or type(error).__name__) from None
        with socket:
            try:
                self._receive(socket)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if code == CLOSE_UNAUTHENTICATED:
                    raise PortalError(
                        401, "not_authenticated", "The portal refused the API key on the event stream."
                    ) from None
                if code == CLOSE_NOT_FOUND:
                    raise PortalError(404, "not_found", "Not found.") from None
                if not self.finished():
                    self.on_notice("stream dropped; reconnecting")
                    raise _SocketUnavailable(f"closed with code {code}") from None

    def _receive(self, socket) -> None:
        hello = json.loads(socket.recv(timeout=10))
        if hello.get("type") == "hello":
            self.catch_up()  # whatever happened before this subscription took effect
        else:
            self._handle(hello)
        while not self.finished():
            try:
                message = json.loads(socket.recv(timeout=QUIET_CATCH_UP_SECONDS))
            except TimeoutError:
                self.catch_up()  # a quiet stream may have missed a push; the record has it
                continue
            self._handle(message)

    def _handle(self, message: dict) -> None:
        if message.get("type") != "event":
            return
        event = message["payload"]
        if int(event["seq"]) > self.last_seq + 1:
            self.catch_up()  # a gap: fetch what the socket skipped, in order
        self._deliver(event)


class _SocketUnavailable(Exception):
    pass


def watch(client: PortalClient, deployment_id: int, on_event: Callable[[dict], None], **options) -> str:
    """Watch a deployment until it ends and return its final state (see Watcher for the options)."""
    return Watcher(client, deployment_id, on_event, **options).run()
