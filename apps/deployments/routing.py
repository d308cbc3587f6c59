"""WebSocket routes of the deployments app."""

from django.urls import path

from .consumers import DeploymentConsumer

websocket_urlpatterns = [
    path("ws/deployments/<int:deployment_id>/", DeploymentConsumer.as_asgi()),
]
