"""Log output: one JSON object per line in production, carrying the request id."""

import json
import logging
import logging.config
import secrets

import pytest
import structlog

from apps.core.logging import build_logging_config
from apps.core.request_id import bind_request_id, clear_request_id


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
