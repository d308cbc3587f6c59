from django.apps import AppConfig


class BuildsConfig(AppConfig):
    """Builds: a source context or Git repository built into an image, pushed to the platform registry."""

    name = "apps.builds"
    label = "builds"

    def ready(self):
        # The policy is registered, and the task known to every process that sends it.
        from apps.core import imagepull
        from apps.core.crypto import register_rotation
        from apps.tenants.backlog import register_backlog

        from . import policies, tasks  # noqa: F401
        from .access import pull_secret_for, pull_secret_name
        from .selectors import build_backlogs
        from .tokens import rotate_key_file

        register_backlog("builds", build_backlogs)

        register_rotation("registry token signing key", rotate_key_file)
        imagepull.install(pull_secret_name, pull_secret_for)
