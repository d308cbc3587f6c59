from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    """What runs now: one workload per application and environment, read from the cluster."""

    name = "apps.workloads"
    label = "workloads"

    def ready(self):
        from . import policies, receivers, tasks  # noqa: F401
