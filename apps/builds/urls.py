"""Build pages, under /t/<tenant_slug>/builds/."""

from django.urls import path

from . import views

app_name = "builds"

urlpatterns = [
    path("new/", views.build_new, name="new"),
    path("<int:pk>/", views.build_detail, name="detail"),
    path("<int:pk>/cancel/", views.build_cancel, name="cancel"),
]
