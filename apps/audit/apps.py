from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit trail: who did what to which object, when and from where."""

    name = "apps.audit"
    label = "audit"

    def ready(self):
        from apps.core import audit

        from . import policies  # noqa: F401
        from .services import write_event

        audit.install(write_event)
