"""An independent webhook receiver for the tests: a real HTTP server on 127.0.0.1 that checks each
delivery's signature with its own code, as a tenant's receiver would (it imports nothing of ours)."""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


@dataclass
class Received:
    headers: dict
    body: bytes
    verified: bool
    problem: str

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


def verify(secret: str, headers: dict, body: bytes, now: float | None = None) -> str:
    """ "" when the delivery is authentic and fresh, else what is wrong (the receiver's own check)."""
    message_id, timestamp = headers.get("Webhook-Id", ""), headers.get("Webhook-Timestamp", "")
    given = headers.get("Webhook-Signature", "")
    if not (message_id and timestamp.isdigit() and given):
        return "missing headers"
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return "stale timestamp"
    expected = hmac.new(
        secret.encode(), message_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    signatures = [part.strip()[3:] for part in given.split(" ") if part.strip().startswith("v1=")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        return "bad signature"
    return ""


@dataclass
class Receiver:
    """Answers each POST with the next status from `statuses` (then 200), recording what arrived."""

    port: int
    secret: str = ""
    statuses: list = field(default_factory=list)
    received: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                problem = verify(receiver.secret, headers, body)
                receiver.received.append(Received(headers, body, not problem, problem))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                reply = json.dumps({"ok": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
