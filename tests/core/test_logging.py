"""Log output: one JSON object per line in production, carrying the request id."""

import json
import logging
import logging.config
import secrets
import subprocess
import sys

import pytest
import structlog

from apps.core.logging import build_logging_config
from apps.core.request_id import bind_request_id, clear_request_id
from tests.conftest import BASE_DIR


def _handler(json_output: bool) -> logging.Handler:
    config = build_logging_config(json_output=json_output, level="INFO")
    formatter = logging.config.dictConfigClass(config).configure_custom(config["formatters"]["structured"])
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    return handler


def test_production_logs_are_json_with_the_request_id(capsys):
    handler = _handler(json_output=True)
    logger = logging.getLogger("portal.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    bind_request_id("req-json-123456")
    try:
        structlog.get_logger("portal.test.json").info("deployment queued", deployment=42)
    finally:
        clear_request_id()
        logger.removeHandler(handler)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "deployment queued"
    assert record["deployment"] == 42
    assert record["request_id"] == "req-json-123456"
    assert record["level"] == "info"


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "console"])
def test_a_logged_traceback_shows_where_but_never_the_frames_variables(capsys, json_output):
    """A request that fails right after making a key (the key's created page, say) logs its traceback;
    the key, in a local variable of a frame, must not be in it."""
    handler = _handler(json_output)
    logger = logging.getLogger("portal.test.traceback")
    logger.addHandler(handler)
    logger.propagate = False

    def show_once(plaintext):
        raise RuntimeError("the page could not be built")

    secret = f"ck_lookup_{secrets.token_urlsafe(16)}"  # made here: the source lines are in a traceback
    try:
        try:
            show_once(secret)
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    out = capsys.readouterr().err
    assert "the page could not be built" in out and "show_once" in out
    assert secret not in out


UVICORN_THEN_PORTAL = """
import logging, logging.config
from uvicorn.config import LOGGING_CONFIG
from apps.core.logging import build_logging_config
logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn does before it loads the application
logging.config.dictConfig(build_logging_config(json_output=True, level="INFO"))  # then Django's settings
try:
    raise RuntimeError("the application failed")
except RuntimeError:
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
"""


def test_uvicorns_own_lines_are_json_in_production_too():
    """uvicorn sets up its loggers with a plain-text handler before the portal starts; an exception it
    logs (an application's, a WebSocket's) must come out as one JSON line like every other."""
    done = subprocess.run(
        [sys.executable, "-c", UVICORN_THEN_PORTAL], capture_output=True, text=True, check=True, cwd=BASE_DIR
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    record = json.loads(lines[0])
    assert record["event"] == "Exception in ASGI application" and record["logger"] == "uvicorn.error"
    assert "the application failed" in json.dumps(record["exception"])
