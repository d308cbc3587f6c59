from django.apps import AppConfig


class BuildsConfig(AppConfig):
    """Builds: a source context or Git repository built into an image, pushed to the platform registry."""

    name = "apps.builds"
    label = "builds"

    def ready(self):
        # The policy is registered, and the task known to every process that sends it.
        from . import policies, tasks  # noqa: F401
