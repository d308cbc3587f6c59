"""The /api/v1/ routes of the CMDB; portal/api_router.py calls register()."""

from .views import (
    ChangeRecordViewSet,
    CITypeViewSet,
    ImportJobViewSet,
    ItemViewSet,
    OperatorCITypeViewSet,
    RelationshipViewSet,
    SavedFilterViewSet,
)


def register(router) -> None:
    """Add this app's viewsets to the project router."""
    router.register("cmdb/types", CITypeViewSet, basename="cmdb-type")
    router.register("cmdb/items", ItemViewSet, basename="cmdb-item")
    router.register("cmdb/relationships", RelationshipViewSet, basename="cmdb-relationship")
    router.register("cmdb/history", ChangeRecordViewSet, basename="cmdb-history")
    router.register("cmdb/import-jobs", ImportJobViewSet, basename="cmdb-import-job")
    router.register("cmdb/saved-filters", SavedFilterViewSet, basename="cmdb-saved-filter")
    router.register("operator/cmdb-types", OperatorCITypeViewSet, basename="operator-cmdb-type")
