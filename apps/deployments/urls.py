"""Deployment pages of one tenant, under /t/<tenant_slug>/deployments/."""

from django.urls import path

from . import views

app_name = "deployments"

urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_new, name="new"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/rollback/", views.deployment_rollback, name="rollback"),
    path("<int:pk>/cancel/", views.deployment_cancel, name="cancel"),
]
