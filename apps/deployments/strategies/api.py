"""The API side of the strategies: what a create may ask for, and the continue and switch-back actions."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.errors import ApplicationError

from .. import services
from ..api.serializers import DeploymentCreateSerializer, DeploymentSerializer, ReasonSerializer, RollbackSerializer
from ..choices import Strategy
from .plan import MAX_GATE_SECONDS, MAX_KEEP_SECONDS, strategy_plan


class StrategyCreateSerializer(DeploymentCreateSerializer):
    """Deploy `release` to `environment` in `tenant` with a strategy. Canary: `steps` (traffic
    percentages, default 10, 50, 100) and `gate_seconds` (omit to wait for a continue after each step).
    Blue-green: `keep_old_colour_seconds` (default 600). Send an Idempotency-Key header to make retries safe."""

    strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.ROLLING)
    steps = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=100), required=False,
                                  max_length=10)
    gate_seconds = serializers.IntegerField(min_value=0, max_value=MAX_GATE_SECONDS, required=False)
    keep_old_colour_seconds = serializers.IntegerField(min_value=0, max_value=MAX_KEEP_SECONDS, required=False)

    def validate(self, data):
        data = super().validate(data)
        try:
            data["plan"] = strategy_plan(strategy=data["strategy"], application=data["release"].application,
                                         steps=data.get("steps"), gate_seconds=data.get("gate_seconds"),
                                         keep_seconds=data.get("keep_old_colour_seconds"))
        except ApplicationError as error:
            raise serializers.ValidationError({error.field or "strategy": [error.message]}) from None
        return data


class DeploymentStrategyActions:
    """Actions of DeploymentViewSet for canary and blue-green deployments."""

    @extend_schema(request=RollbackSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"], url_path="continue", url_name="continue")
    def continue_rollout(self, request, pk=None):
        """Move a canary waiting at a step on to its next step (409 when it is not waiting, 409
        change_freeze during a freeze unless an owner gives a break-glass reason)."""
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_continue(actor=request, deployment=self.get_object(), **data.validated_data)
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=ReasonSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"], url_path="switch-back", url_name="switch-back")
    def switch_back(self, request, pk=None):
        """Send a blue-green deployment's traffic back to the old colour while it is kept (409 after)."""
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_switch_back(actor=request, deployment=self.get_object(),
                                                     reason=data.validated_data["reason"])
        return Response(self.get_serializer(deployment).data)
