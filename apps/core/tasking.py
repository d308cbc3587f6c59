"""Celery signal handlers that carry the request id from the web process into tasks.

The id travels as a message header; the worker binds it for the task's log lines and drops it
when the task ends, so it never leaks into the next task.
"""

from celery.signals import before_task_publish, task_postrun, task_prerun

from .request_id import bind_request_id, clear_request_id, current_request_id, new_request_id


@before_task_publish.connect
def _attach_request_id(headers=None, **kwargs):
    request_id = current_request_id()
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _bind_request_id(task=None, **kwargs):
    request_id = None
    if task is not None:
        # Custom headers land on the request itself or under .headers, depending on the protocol.
        request_id = getattr(task.request, "request_id", None) or (task.request.headers or {}).get("request_id")
    bind_request_id(request_id or new_request_id())


@task_postrun.connect
def _clear_request_id(**kwargs):
    clear_request_id()
