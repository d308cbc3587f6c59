"""The Traffic tab of an application, under /t/<tenant_slug>/apps/<name>/traffic/."""

from django.urls import path

from . import views

app_name = "traffic"

urlpatterns = [
    path("", views.traffic, name="list"),
    path("<int:pk>/edit/", views.route_edit, name="edit"),
    path("<int:pk>/delete/", views.route_delete, name="delete"),
    path("<int:pk>/maintenance/", views.route_maintenance, name="maintenance"),
    path("<int:pk>/degrade/", views.route_degrade, name="degrade"),
]
