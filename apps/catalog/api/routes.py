"""The /api/v1/ routes of the catalog app; portal/api_router.py calls register()."""

from .views import ApplicationViewSet, ReleaseViewSet, TemplateViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("applications", ApplicationViewSet, basename="application")
    router.register("releases", ReleaseViewSet, basename="release")
    router.register("templates", TemplateViewSet, basename="template")
