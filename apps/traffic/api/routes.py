"""The /api/v1/ routes of the traffic app; portal/api_router.py calls register()."""

from .views import RouteViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("routes", RouteViewSet, basename="route")
