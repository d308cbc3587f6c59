"""The /api/v1/ routes of the apikeys app; portal/api_router.py calls register()."""

from .views import APIKeyViewSet, PlanView, UsageDailyViewSet


def register(router) -> None:
    """Add this app's viewsets and views to the project router."""
    router.register_view("plan/", PlanView, name="api-plan")
    router.register("api-keys", APIKeyViewSet, basename="apikey")
    router.register("api-usage", UsageDailyViewSet, basename="usagedaily")
