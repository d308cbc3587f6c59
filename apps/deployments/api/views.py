"""REST API for deployments: list, read, create (with Idempotency-Key), rollback, cancel, events."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.idempotency import idempotent
from apps.tenants.api.base import TenantViewSetMixin

from .. import services
from ..models import Deployment
from ..selectors import EVENTS_PAGE_MAX, events_after
from ..strategies.api import DeploymentStrategyActions, StrategyCreateSerializer
from . import serializers as s
from .operations import DeploymentOperationsMixin

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Retrying with the same key and payload returns the first deployment (200) instead of a new one.")
AFTER_SEQ = OpenApiParameter("after_seq", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                             description="Only events with a larger seq (what a page missed while disconnected).")


class DeploymentViewSet(DeploymentOperationsMixin, DeploymentStrategyActions, TenantViewSetMixin,
                        mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deployments of releases into environments. State changes are actions: rollback, cancel."""

    model = Deployment
    serializer_class = s.DeploymentSerializer
    filterset_fields = ["state", "environment", "application"]

    def optimise(self, queryset):
        # change_requests: the approvals app's reverse relation, for the serializer's change_request id.
        return (queryset.select_related("tenant", "application", "release", "environment", "requested_by")
                .prefetch_related("change_requests"))

    @extend_schema(request=StrategyCreateSerializer, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: s.DeploymentSerializer, 200: s.DeploymentSerializer}, examples=[
                       OpenApiExample("Rolling deploy", request_only=True, value={
                           "tenant": "acme", "release": 42, "environment": 3}),
                       OpenApiExample("Canary to a governed environment", request_only=True, value={
                           "tenant": "acme", "release": 42, "environment": 5, "strategy": "canary",
                           "steps": [10, 50, 100], "gate_seconds": 120,
                           "justification": "Checkout fix for INC-1234"}),
                   ])
    def create(self, request):
        data = StrategyCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        deployment, created = services.strategy_deploy(
            actor=request, plan=data.validated_data["plan"], release=data.validated_data["release"], environment=data.validated_data["environment"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            progress_deadline_seconds=data.validated_data.get("progress_deadline_seconds"),
            justification=data.validated_data["justification"],
            break_glass_reason=data.validated_data["break_glass_reason"])
        return Response(self.get_serializer(deployment).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @idempotent
    @extend_schema(request=s.RollbackSerializer, responses={201: s.DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Deploy the release that last succeeded before this one in the same environment. Where the
        environment needs approval the rollback waits in pending_approval (the reason is the justification)."""
        data = s.RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rollback = services.deployment_rollback(actor=request, deployment=self.get_object(),
                                                reason=data.validated_data["reason"],
                                                break_glass_reason=data.validated_data["break_glass_reason"])
        return Response(self.get_serializer(rollback).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReasonSerializer, responses=s.DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop an in-flight deployment. Objects already applied stay; roll back to undo them."""
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_cancel(actor=request, deployment=self.get_object(),
                                                reason=data.validated_data["reason"])
        return Response(self.get_serializer(deployment).data)

    @extend_schema(parameters=[AFTER_SEQ], responses=s.DeploymentEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        """The deployment's events in seq order (at most 1000 per call; ask again after the last seq)."""
        try:
            after = int(request.query_params.get("after_seq", 0))
        except ValueError:
            raise ValidationError({"after_seq": ["A whole number."]}) from None
        rows = events_after(self.get_object(), after, EVENTS_PAGE_MAX)
        return Response(s.DeploymentEventSerializer(rows, many=True).data)
