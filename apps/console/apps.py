from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator console: platform-wide views for staff, beyond Django admin."""

    name = "apps.console"
    label = "console"
