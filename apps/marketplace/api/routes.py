"""The /api/v1/ routes of the marketplace; portal/api_router.py calls register()."""

from .views import ServiceBindingViewSet, ServiceInstanceViewSet, ServiceOfferingViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("service-offerings", ServiceOfferingViewSet, basename="serviceoffering")
    router.register("service-instances", ServiceInstanceViewSet, basename="serviceinstance")
    router.register("service-bindings", ServiceBindingViewSet, basename="servicebinding")
