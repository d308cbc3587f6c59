"""Under ASGI the middleware stack runs in the request's thread from top to bottom.

Django runs each middleware in the mode it supports and hands the request between the event loop and a
thread wherever two neighbours differ; an async-capable middleware below a synchronous-only one then has
each of its hooks handed to the thread and back. WhiteNoise's middleware and the session activity's are
synchronous-only, so the whole stack runs in that mode, the innermost included
(apps.core.middleware.PrometheusAfterMiddleware).
"""

import pytest
from asgiref import sync
from django.test import AsyncClient

HOOKS = ("process_request", "process_response", "process_exception", "process_template_response")


@pytest.fixture
def handed_to_threads(monkeypatch):
    """The names of the functions asgiref hands from the event loop to a thread, in order."""
    names = []
    handoff = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        names.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await handoff(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    return names


async def test_no_middleware_hook_is_handed_between_the_loop_and_a_thread(handed_to_threads):
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    hooks = [name for name in handed_to_threads if name.endswith(HOOKS)]
    assert hooks == [], f"middleware hooks crossing to a thread one by one: {hooks}"
    # The stack itself crosses once, as a whole.
    assert sum(name.startswith("convert_exception_to_response") for name in handed_to_threads) == 1
