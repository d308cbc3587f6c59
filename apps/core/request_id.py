"""The request id: one per HTTP request, returned as X-Request-ID and carried into Celery tasks.

It lives in a contextvar (through structlog's contextvars) so every log line of the request, and
of the tasks it queues, carries it.
"""

import re
import uuid
from contextvars import ContextVar

import structlog

HEADER = "X-Request-ID"
# A caller's id is reused only when it is short and plain, so it cannot forge log lines.
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """Keep a well-formed incoming id (from a proxy or client), otherwise make a fresh one."""
    if value and _VALID.match(value):
        return value
    return new_request_id()


# Who is on the other end of the current request, for the audit trail (not for every log line).
_client: ContextVar[tuple[str | None, str]] = ContextVar("portal_client", default=(None, ""))


def bind_client(ip: str | None, user_agent: str) -> None:
    _client.set((ip, user_agent[:500]))


def current_client() -> tuple[str | None, str]:
    """(ip, user agent) of the request being served, or (None, "") outside one."""
    return _client.get()


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


def bind_request_id(request_id: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def clear_request_id() -> None:
    structlog.contextvars.clear_contextvars()
    _client.set((None, ""))
