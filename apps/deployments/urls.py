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
    path("<int:pk>/continue/", views.deployment_continue, name="continue"),
    path("<int:pk>/switch-back/", views.deployment_switch_back, name="switch-back"),
    path("<int:pk>/pause/", views.deployment_pause, name="pause"),
    path("<int:pk>/resume/", views.deployment_resume, name="resume"),
    path("<int:pk>/scale/", views.deployment_scale, name="scale"),
    path("<int:pk>/restart/", views.deployment_restart, name="restart"),
    path("<int:pk>/promote/", views.deployment_promote, name="promote"),
    path("<int:pk>/remove/", views.deployment_remove, name="remove"),
    path("settings/", views.deploy_settings, name="settings"),
    path("settings/<int:pk>/", views.deploy_settings_update, name="settings-update"),
]
