"""Every /api/v1/ route, gathered from the apps."""

from django.urls import path

from apps.accounts.api.views import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
]
