"""Start pipeline work after the transaction commits.

The services that ask for work sit below the tasks that do it (tasks -> pipeline -> strategies ->
services), so they name the task as Celery routes it instead of importing it. tasks.py registers
each task under the same constant, and the names stay put when code moves, so messages queued
before an upgrade still find their task.
"""

from celery import current_app
from django.db import transaction

RUN = "apps.deployments.tasks.run_deployment"
OBSERVE = "apps.deployments.tasks.observe_deployment"
RECONCILE = "apps.deployments.tasks.reconcile_deployments"
SWITCH_BACK = "apps.deployments.strategies.tasks.switch_back"
TIDY = "apps.deployments.strategies.tasks.tidy_strategies"
OPERATION = "apps.deployments.tasks.run_operation"
ADMIT = "apps.deployments.tasks.admit_waiting"


def after_commit(task: str, *args, priority: int | None = None) -> None:
    """Send `task` with `args` once the current transaction commits (at once outside one). The app
    config imports tasks.py at start, so the registered task (which drops a nudge the broker cannot
    take, apps/core/tasking.py) is found in every process. `priority` 0 (the default) to 9 (last): the
    Redis transport serves a queue's lower numbers first (fairness.py)."""
    options = {} if priority is None else {"priority": priority}
    transaction.on_commit(lambda: current_app.tasks[task].apply_async(args, **options))
