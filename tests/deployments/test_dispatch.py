"""The services start the pipeline's tasks by name (apps/deployments/dispatch.py): every name they
send must be a registered task, of the portal's task class, so a rename cannot silently lose work."""

from celery import current_app

from apps.core.tasking import NudgeTask
from apps.deployments import dispatch


def test_every_task_name_the_services_send_is_a_registered_nudge_task():
    names = [value for key, value in vars(dispatch).items() if key.isupper()]
    assert names
    for name in names:
        assert isinstance(current_app.tasks[name], NudgeTask), name
