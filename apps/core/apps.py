from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared framework: request ids, logging, realtime, health, errors. Imports no domain app."""

    name = "apps.core"
    label = "core"

    def ready(self):
        from . import checks  # noqa: F401
        from .api import refuse_loose_types

        refuse_loose_types()
