"""WebSocket routes of every app, gathered in one list for portal.asgi."""

from apps.builds.routing import websocket_urlpatterns as build_routes
from apps.core.routing import websocket_urlpatterns as core_routes
from apps.deployments.routing import websocket_urlpatterns as deployment_routes
from apps.workloads.routing import websocket_urlpatterns as workload_routes

websocket_urlpatterns = [*core_routes, *deployment_routes, *build_routes, *workload_routes]
