"""Workload pages of one tenant, under /t/<tenant_slug>/workloads/."""

from django.urls import path

from . import views

app_name = "workloads"

urlpatterns = [
    path("", views.workload_list, name="list"),
    path("<int:pk>/", views.workload_detail, name="detail"),
]
