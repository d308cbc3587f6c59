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

from .. import services
from ..models import DeploySettings
from .serializers import DeploymentSerializer, GovernedSerializer, PendingApprovalSerializer, ReferableField


class ScaleSerializer(GovernedSerializer):
    replicas = serializers.IntegerField(min_value=0, max_value=services.MAX_REPLICAS)


class PromoteSerializer(GovernedSerializer):
    environment = ReferableField(Environment, help_text="The environment to deploy the same release to.")


class RemoveSerializer(GovernedSerializer):
    """Remove `application` from `environment`: every cluster object carrying its label there."""

    application = ReferableField(Application)
    environment = ReferableField(Environment)


class BreakGlassSerializer(serializers.Serializer):
    """A change that carries on an approved one: only a freeze holds it, and only an owner's break-glass passes."""

    break_glass_reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="",
        help_text="Owners only: go ahead during a freeze; it is flagged and reviewed afterwards.")


def waits(subject, what: str):
    """202 with the change request when the operation waits for approval, else None."""
    waiting = getattr(subject, "change_request", None)
    if waiting is not None and waiting.is_open:
        return Response({"change_request": waiting.pk, "state": waiting.state,
                         "detail": f"The {what} waits for approval in change request {waiting.pk}."},
                        status=status.HTTP_202_ACCEPTED)
    return None


class RemovedSerializer(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField(), help_text="Kind/name of each deleted object.")


class DeploymentOperationsMixin:
    """Actions of DeploymentViewSet on what runs in an environment."""

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause this in-flight rolling update where it stands; it stays progressing until resumed."""
        deployment = services.deployment_pause(actor=request, deployment=self.get_object())
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=BreakGlassSerializer, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Let this paused rolling update carry on; its progress deadline counts again from now. A freeze
        refuses it (409 change_freeze) unless an owner gives a break-glass reason."""
        data = BreakGlassSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_resume(actor=request, deployment=self.get_object(), **data.validated_data)
        return Response(self.get_serializer(deployment).data)

    @idempotent
    @extend_schema(request=ScaleSerializer, responses={200: DeploymentSerializer, 202: PendingApprovalSerializer})
    @action(detail=True, methods=["post"])
    def scale(self, request, pk=None):
        """Set the replicas of this (running) deployment's release, within the tenant's quotas. Where the
        environment needs approval nothing is scaled yet: 202 with the change request to approve."""
        data = ScaleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_scale(actor=request, deployment=self.get_object(), **data.validated_data)
        return waits(deployment, "scale") or Response(self.get_serializer(deployment).data)

    @idempotent
    @extend_schema(request=GovernedSerializer,
                   responses={200: DeploymentSerializer, 202: PendingApprovalSerializer})
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Replace every pod of this (running) deployment's release, one by one. Where the environment
        needs approval nothing is restarted yet: 202 with the change request to approve."""
        data = GovernedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_restart(actor=request, deployment=self.get_object(), **data.validated_data)
        return waits(deployment, "restart") or Response(self.get_serializer(deployment).data)

    @idempotent
    @extend_schema(request=PromoteSerializer, responses={201: DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Deploy this deployment's release to another environment; it must have succeeded here. Where the
        target needs approval the new deployment waits in pending_approval (see its change_request)."""
        data = PromoteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        promoted = services.deployment_promote(actor=request, deployment=self.get_object(), **data.validated_data)
        return Response(self.get_serializer(promoted).data, status=status.HTTP_201_CREATED)

    @idempotent
    @extend_schema(request=RemoveSerializer, responses={200: RemovedSerializer, 202: PendingApprovalSerializer})
    @action(detail=False, methods=["post"])
    def remove(self, request):
        """Remove an application from an environment: delete its cluster objects; the history stays.
        Where the environment needs approval nothing is deleted yet: 202 with the change request."""
        data = RemoveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        removal = services.application_remove(actor=request, **data.validated_data)
        return waits(removal, "removal") or Response({"removed": removal.removed})


class DeploySettingsSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment_name = serializers.CharField(source="environment.name", read_only=True)
    justification = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                          write_only=True, help_text="Why: required where the environment "
                                                                     "needs approval.")
    break_glass_reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="", write_only=True,
        help_text="Owners only: change it past approval or a freeze; it is flagged and reviewed afterwards.")

    class Meta:
        model = DeploySettings
        fields = ["id", "tenant", "environment", "environment_name", "auto_rollback", "updated_at",
                  "justification", "break_glass_reason"]
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
        services.deploy_settings_ensure(principal=request)
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: DeploySettingsSerializer, 202: PendingApprovalSerializer})
    def update(self, request, *args, **kwargs):
        """Change the settings. Where the environment needs approval nothing changes yet: 202 with the
        change request to approve; a freeze refuses it (409 change_freeze)."""
        self.waiting = None
        response = super().update(request, *args, **kwargs)
        return self.waiting or response

    @extend_schema(responses={200: DeploySettingsSerializer, 202: PendingApprovalSerializer})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.deploy_settings_update(
            actor=self.request, settings=serializer.instance,
            auto_rollback=data.get("auto_rollback", serializer.instance.auto_rollback),
            justification=data.get("justification", ""), break_glass_reason=data.get("break_glass_reason", ""))
        self.waiting = waits(serializer.instance, "settings change")
