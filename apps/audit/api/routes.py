"""The /api/v1/ routes of the audit app; portal/api_router.py calls register()."""

from .views import AuditEventViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("audit-events", AuditEventViewSet, basename="auditevent")
