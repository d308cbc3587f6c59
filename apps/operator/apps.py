from django.apps import AppConfig


class OperatorConfig(AppConfig):
    """The operator console (/operator/): every platform-wide page and API for staff, beyond Django
    admin. Not to be confused with the developer console (/console/, apps/apikeys/developer_console.py),
    which is a tenant member's own API keys."""

    name = "apps.operator"
    # No models, so the label changed from "console" with nothing in the database to carry over.
    label = "operator"
