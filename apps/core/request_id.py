"""The request id: one per HTTP request, returned as X-Request-ID and carried into Celery tasks.

It lives in a contextvar (through structlog's contextvars) so every log line of the request, and
of the tasks it queues, carries it.
"""

import re
import uuid

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


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


def bind_request_id(request_id: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def clear_request_id() -> None:
    structlog.contextvars.clear_contextvars()
