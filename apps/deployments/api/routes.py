"""The /api/v1/ routes of the deployments app; portal/api_router.py calls register()."""


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    from .views import DeploymentViewSet, DeploySettingsViewSet

    router.register("deployments", DeploymentViewSet, basename="deployment")
    router.register("deploy-settings", DeploySettingsViewSet, basename="deploysettings")
