"""WebSocket routes of the deployments app."""

from django.urls import path

from .consumers import DeploymentConsumer, TenantConsumer

websocket_urlpatterns = [
    path("ws/deployments/<int:deployment_id>/", DeploymentConsumer.as_asgi()),
    path("ws/tenants/<slug:tenant_slug>/", TenantConsumer.as_asgi()),
]
