"""The Celery application. Settings come from Django settings (CELERY_*), tasks from every app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

# Every task sends as a nudge that a broker outage drops, not raises (apps/core/tasking.py).
app = Celery("portal", task_cls="apps.core.tasking:NudgeTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Request ids travel with the task messages (apps.core.tasking connects the signals).
import apps.core.tasking  # noqa: E402,F401
