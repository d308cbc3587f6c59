"""Operator pages for service templates, under /operator/templates/ (staff only)."""

from django.urls import path

from . import views

app_name = "catalog-operator"

urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_new, name="new"),
]
