from django.apps import AppConfig


class TrafficConfig(AppConfig):
    """Routes: which host and path reach which application, rendered for each cluster's traffic controller."""

    name = "apps.traffic"
    label = "traffic"

    def ready(self):
        from apps.core import traffic

        from . import gateway, policies, tasks  # noqa: F401
        from .seam import TrafficSource

        traffic.install(TrafficSource())
