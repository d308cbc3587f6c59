"""The tenant's audit trail, under /t/<tenant_slug>/audit/."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.trail, name="trail"),
]
