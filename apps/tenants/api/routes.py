"""The /api/v1/ routes of the tenants app; portal/api_router.py calls register()."""

from .views import EnvironmentViewSet, InvitationViewSet, MembershipViewSet, QuotaViewSet, TenantViewSet


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("tenants", TenantViewSet, basename="tenant")
    router.register("members", MembershipViewSet, basename="membership")
    router.register("invitations", InvitationViewSet, basename="invitation")
    router.register("environments", EnvironmentViewSet, basename="environment")
    router.register("quotas", QuotaViewSet, basename="quota")
