"""The consumer keys page, under /t/<tenant_slug>/consumers/: consumer keys and usage plans."""

from django.urls import path

from . import consumer_pages as views

app_name = "consumers"

urlpatterns = [
    path("", views.consumers, name="list"),
    path("<int:pk>/revoke/", views.key_revoke, name="revoke"),
    path("plans/", views.plan_create, name="plan-create"),
    path("plans/<int:pk>/", views.plan_edit, name="plan-edit"),
    path("plans/<int:pk>/delete/", views.plan_delete, name="plan-delete"),
]
