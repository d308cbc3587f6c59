"""API key pages, under /t/<tenant_slug>/keys/."""

from django.urls import path

from . import views

app_name = "apikeys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("usage/", views.usage, name="usage"),
    path("<int:pk>/revoke/", views.key_revoke, name="revoke"),
    path("<int:pk>/rotate/", views.key_rotate, name="rotate"),
    path("<int:pk>/auto-rotate/", views.key_auto_rotate, name="auto-rotate"),
    path("<int:pk>/reveal/", views.key_reveal, name="reveal"),
]
