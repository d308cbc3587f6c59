"""Logging configuration: structlog on top of the standard library.

Locally the console gets readable coloured lines; in production every line is one JSON object.
The request id (and anything else bound with structlog.contextvars) rides along on every line.
"""

from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def build_logging_config(*, json_output: bool, level: str) -> dict:
    """Return a dictConfig that renders both structlog and plain stdlib records the same way."""
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # A traceback names its frames and lines, never their local variables: a variable may hold a key
    # about to be shown once, a password or a token, and log lines are kept and shipped elsewhere.
    renderer = (
        [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(),
        ]
        if json_output
        else [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
                "foreign_pre_chain": SHARED_PROCESSORS,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "django.server": {"level": "WARNING"},
            # uvicorn configures its loggers before Django starts; these replace its plain-text handler, so its
            # own lines (an application's exception, a WebSocket's) are rendered like every other.
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.access": {"level": "WARNING"},
            "celery": {"level": level},
        },
    }
