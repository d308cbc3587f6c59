from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    """What runs now: one workload per application and environment, read from the cluster."""

    name = "apps.workloads"
    label = "workloads"

    def ready(self):
        from apps.core import livemodel

        from . import policies, receivers, tasks  # noqa: F401
        from .livemodel import serving_from_watches

        livemodel.install(serving_from_watches)
