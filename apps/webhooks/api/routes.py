"""The /api/v1/ routes of the webhooks app; portal/api_router.py calls register()."""

from .views import OperatorWebhookEndpointViewSet, WebhookDeliveryViewSet, WebhookEndpointViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("webhooks", WebhookEndpointViewSet, basename="webhookendpoint")
    router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhookdelivery")
    router.register("operator/webhooks", OperatorWebhookEndpointViewSet, basename="operator-webhookendpoint")
