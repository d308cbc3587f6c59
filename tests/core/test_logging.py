"""Log output: one JSON object per line in production, carrying the request id."""

import json
import logging
import logging.config

import structlog

from apps.core.logging import build_logging_config
from apps.core.request_id import bind_request_id, clear_request_id


def test_production_logs_are_json_with_the_request_id(capsys):
    config = build_logging_config(json_output=True, level="INFO")
    formatter = logging.config.dictConfigClass(config).configure_custom(config["formatters"]["structured"])
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
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
