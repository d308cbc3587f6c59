"""How the portal sends Celery tasks: as nudges, with the request id along.

A task message only nudges work whose truth is a database row (a deployment, a delivery, a job);
periodic sweeps find rows whose nudge was lost. So a message that cannot be sent because the broker
is down or stalled is logged and dropped, never raised into a request whose transaction already
committed. The request id travels as a message header; the worker binds it for the task's log lines
and drops it when the task ends, so it never leaks into the next task.
"""

import structlog
from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun
from kombu.exceptions import OperationalError

from .request_id import bind_request_id, clear_request_id, current_request_id, new_request_id

logger = structlog.get_logger(__name__)


class NudgeTask(Task):
    """The base of every task (portal/celery.py): sending survives a broker outage."""

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except OperationalError as error:
            logger.warning("task nudge dropped: the broker is unreachable", task=self.name, args=args, error=str(error))
            return None


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
