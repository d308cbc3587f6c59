"""Under ASGI the middleware stack runs in the request's thread from top to bottom.

Django runs each middleware in the mode it supports and hands the request between the event loop and a
thread wherever two neighbours differ; an async-capable middleware below a synchronous-only one then has
each of its hooks handed to the thread and back. WhiteNoise's middleware and the session activity's are
synchronous-only, so the whole stack runs in that mode, the innermost included
(apps.core.middleware.PrometheusAfterMiddleware): the one crossing is below the last middleware, into
the view's handler. Django says where it adapts a handler when DEBUG is on, as it builds the stack.
"""

import logging

from django.core.handlers.asgi import ASGIHandler


def test_the_only_middleware_handed_across_is_the_innermost(settings, caplog):
    settings.DEBUG = True  # Django logs each adaptation only then
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        ASGIHandler()
    adapted = [record.getMessage() for record in caplog.records if "adapted for middleware" in record.getMessage()]
    assert adapted == [f"Asynchronous handler adapted for middleware {settings.MIDDLEWARE[-1]}."], adapted
