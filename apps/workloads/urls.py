"""Workload pages of one tenant, under /t/<tenant_slug>/workloads/."""

from django.urls import path

from . import views

app_name = "workloads"

urlpatterns = [
    path("", views.workload_list, name="list"),
    path("<int:pk>/", views.workload_detail, name="detail"),
    path("<int:pk>/parts/", views.workload_parts, name="parts"),
    path("running-now/<int:pk>/", views.running_now_part, name="running-now"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<int:pk>/acknowledge/", views.incident_acknowledge_view, name="incident-acknowledge"),
    path("incidents/<int:pk>/resolve/", views.incident_resolve_view, name="incident-resolve"),
    path("incidents/<int:pk>/restart/", views.incident_restart_view, name="incident-restart"),
    path("incidents/<int:pk>/scale/", views.incident_scale_view, name="incident-scale"),
]
