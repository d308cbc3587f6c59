"""The /api/v1/ routes of the builds app; portal/api_router.py calls register()."""


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    from .views import BuildViewSet, ImageViewSet

    router.register("builds", BuildViewSet, basename="build")
    router.register("images", ImageViewSet, basename="image")
