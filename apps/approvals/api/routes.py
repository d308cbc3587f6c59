"""The /api/v1/ routes of the approvals app; portal/api_router.py calls register()."""


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    from .views import ApprovalPolicyViewSet, ChangeRequestViewSet, FreezeWindowViewSet

    router.register("approval-policies", ApprovalPolicyViewSet, basename="approvalpolicy")
    router.register("freeze-windows", FreezeWindowViewSet, basename="freezewindow")
    router.register("change-requests", ChangeRequestViewSet, basename="changerequest")
