"""Webhook pages of one tenant, under /t/<tenant_slug>/webhooks/."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("<int:pk>/", views.endpoint_detail, name="detail"),
    path("<int:pk>/edit/", views.endpoint_edit, name="edit"),
    path("<int:pk>/test/", views.endpoint_test, name="test"),
    path("<int:pk>/enable/", views.endpoint_enable, name="enable"),
    path("<int:pk>/rotate-secret/", views.endpoint_rotate_secret, name="rotate-secret"),
    path("<int:pk>/delete/", views.endpoint_delete, name="delete"),
    path("deliveries/<int:pk>/replay/", views.delivery_replay, name="replay"),
]
