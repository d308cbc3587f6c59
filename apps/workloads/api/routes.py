"""The /api/v1/ routes of the workloads app; portal/api_router.py calls register()."""


def register(router) -> None:
    from .views import IncidentViewSet, WorkloadViewSet

    router.register("workloads", WorkloadViewSet, basename="workload")
    router.register("incidents", IncidentViewSet, basename="incident")
