from django.urls import path

from .consumers import WorkloadConsumer, WorkloadLogConsumer

websocket_urlpatterns = [
    path("ws/workloads/<int:workload_id>/", WorkloadConsumer.as_asgi()),
    path("ws/workloads/<int:workload_id>/logs/", WorkloadLogConsumer.as_asgi()),
]
