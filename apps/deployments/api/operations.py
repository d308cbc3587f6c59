"""REST API for day-2 operations: pause, resume, scale, restart, promote and remove as deployment actions,
and each environment's deploy settings (automatic rollback) as a small resource of its own."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.catalog.models import Application
from apps.core.idempotency import idempotent
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.models import Environment

from .. import operations
from ..models import DeploySettings
from .serializers import DeploymentSerializer, GovernedSerializer, PendingApprovalSerializer, ReferableField


class ScaleSerializer(GovernedSerializer):
    replicas = serializers.IntegerField(min_value=0, max_value=operations.MAX_REPLICAS)


class PromoteSerializer(GovernedSerializer):
    environment = ReferableField(Environment, help_text="The environment to deploy the same release to.")


class RemoveSerializer(serializers.Serializer):
    """Remove `application` from `environment`: every cluster object carrying its label there."""

    application = ReferableField(Application)
    environment = ReferableField(Environment)


class RemovedSerializer(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField(), help_text="Kind/name of each deleted object.")


class DeploymentOperationsMixin:
    """Actions of DeploymentViewSet on what runs in an environment."""

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause this in-flight rolling update where it stands; it stays progressing until resumed."""
        deployment = operations.deployment_pause(actor=request, deployment=self.get_object())
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Let this paused rolling update carry on; its progress deadline counts again from now."""
        deployment = operations.deployment_resume(actor=request, deployment=self.get_object())
        return Response(self.get_serializer(deployment).data)

    @idempotent
    @extend_schema(request=ScaleSerializer, responses={200: DeploymentSerializer, 202: PendingApprovalSerializer})
    @action(detail=True, methods=["post"])
    def scale(self, request, pk=None):
        """Set the replicas of this (running) deployment's release, within the tenant's quotas. Where the
        environment needs approval nothing is scaled yet: 202 with the change request to approve."""
        data = ScaleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = operations.deployment_scale(actor=request, deployment=self.get_object(), **data.validated_data)
        waiting = getattr(deployment, "change_request", None)
        if waiting is not None and waiting.is_open:
            return Response({"change_request": waiting.pk, "state": waiting.state,
                             "detail": f"The scale waits for approval in change request {waiting.pk}."},
                            status=status.HTTP_202_ACCEPTED)
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Replace every pod of this (running) deployment's release, one by one."""
        deployment = operations.deployment_restart(actor=request, deployment=self.get_object())
        return Response(self.get_serializer(deployment).data)

    @idempotent
    @extend_schema(request=PromoteSerializer, responses={201: DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Deploy this deployment's release to another environment; it must have succeeded here. Where the
        target needs approval the new deployment waits in pending_approval (see its change_request)."""
        data = PromoteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        promoted = operations.deployment_promote(actor=request, deployment=self.get_object(), **data.validated_data)
        return Response(self.get_serializer(promoted).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RemoveSerializer, responses=RemovedSerializer)
    @action(detail=False, methods=["post"])
    def remove(self, request):
        """Remove an application from an environment: delete its cluster objects; the history stays."""
        data = RemoveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        removed = operations.application_remove(actor=request, **data.validated_data)
        return Response({"removed": removed})


class DeploySettingsSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment_name = serializers.CharField(source="environment.name", read_only=True)

    class Meta:
        model = DeploySettings
        fields = ["id", "tenant", "environment", "environment_name", "auto_rollback", "updated_at"]
        read_only_fields = ["id", "tenant", "environment", "environment_name", "updated_at"]


class DeploySettingsViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """How deployments behave in each environment: whether a failed rollout rolls back automatically.
    Every environment has settings; admins and owners change them."""

    model = DeploySettings
    serializer_class = DeploySettingsSerializer

    def optimise(self, queryset):
        return queryset.select_related("tenant", "environment")

    def list(self, request, *args, **kwargs):
        operations.deploy_settings_ensure(principal=request)
        return super().list(request, *args, **kwargs)

    def perform_update(self, serializer):
        serializer.instance = operations.deploy_settings_update(
            actor=self.request, settings=serializer.instance,
            auto_rollback=serializer.validated_data.get("auto_rollback", serializer.instance.auto_rollback))
