"""The /api/v1/ routes of the accounts app; portal/api_router.py calls register()."""

from .views import MeView


def register(router) -> None:
    """Add this app's views to the project router."""
    router.register_view("me/", MeView, name="api-me")
