"""WebSocket routes of the builds app."""

from django.urls import path

from .consumers import BuildConsumer

websocket_urlpatterns = [path("ws/builds/<int:build_id>/", BuildConsumer.as_asgi())]
