"""The /api/v1/ routes of the traffic app; portal/api_router.py calls register()."""

from .consumer_views import ConsumerKeyViewSet, GatewayVerifyView, UsagePlanViewSet
from .views import RouteViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("routes", RouteViewSet, basename="route")
    router.register("usage-plans", UsagePlanViewSet, basename="usageplan")
    router.register("consumer-keys", ConsumerKeyViewSet, basename="consumerkey")
    router.register_view("gateway/verify/", GatewayVerifyView, name="gateway-verify")
