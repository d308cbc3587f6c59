"""Add-on pages of one tenant, under /t/<tenant_slug>/addons/."""

from django.urls import path

from . import views

app_name = "marketplace"

urlpatterns = [
    path("", views.addon_list, name="list"),
    path("bind/", views.application_bind, name="bind-application"),
    path("<int:pk>/", views.addon_detail, name="detail"),
    path("<int:pk>/bind/", views.addon_bind, name="bind"),
    path("<int:pk>/bindings/<int:binding_pk>/unbind/", views.addon_unbind, name="unbind"),
    path("<int:pk>/bindings/<int:binding_pk>/rotate/", views.addon_rotate, name="rotate"),
    path("<int:pk>/remove/", views.addon_remove, name="remove"),
]
