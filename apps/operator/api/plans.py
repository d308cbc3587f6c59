"""The operator API for rate-limit plans: list, create, change, and assign to a tenant. Staff only."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.apikeys import services
from apps.apikeys.models import Plan
from apps.apikeys.ratelimit import plan_of
from apps.apikeys.selectors import plans_with_tenant_counts
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal
from apps.tenants.selectors import tenant_choices

from .views import OperatorViewSet


class PlanSerializer(serializers.ModelSerializer):
    tenant_count = serializers.IntegerField(read_only=True, help_text="Tenants assigned this plan explicitly.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "name",
            "description",
            "requests_per_second",
            "burst",
            "tenant_requests_per_second",
            "tenant_burst",
            "daily_quota",
            "monthly_quota",
            "is_default",
            "tenant_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "tenant_count", "created_at", "updated_at"]
        validators = []  # the service judges names and the single default, with its own codes


class PlanAssignSerializer(serializers.Serializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", queryset=tenant_choices())


class PlanAssignmentSerializer(serializers.Serializer):
    tenant = serializers.CharField(source="slug")
    plan = serializers.CharField(allow_null=True)
    assigned = serializers.BooleanField(help_text="False: the tenant follows the default plan.")


class OperatorPlanViewSet(OperatorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Rate-limit plans. `?tenant=<slug>` lists only the plan in force for that tenant.

    POST creates, PATCH changes (every tenant on the plan follows), `assign/` puts a tenant on the plan and
    `unassign/` returns a tenant to the default plan. Each write is audited.
    """

    serializer_class = PlanSerializer
    queryset = plans_with_tenant_counts()

    @extend_schema(parameters=[OpenApiParameter("tenant", str, description="Only the plan in force for this tenant.")])
    def list(self, request, *args, **kwargs):
        slug = request.query_params.get("tenant")
        if slug:
            plan = plan_of(get_object_or_404(Tenant, slug=slug).pk)
            self.queryset = self.queryset.filter(pk=plan.pk if plan else None)
        return super().list(request, *args, **kwargs)

    def _fresh(self, plan):
        return self.get_serializer(self.queryset.get(pk=plan.pk)).data

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_create(operator=as_principal(request), **data.validated_data)
        return Response(self._fresh(plan), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        data = self.get_serializer(self.get_object(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        plan = services.plan_update(operator=as_principal(request), plan=data.instance, **data.validated_data)
        return Response(self._fresh(plan))

    @extend_schema(request=PlanAssignSerializer, responses=PlanAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = PlanAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = data.validated_data["tenant"]
        services.tenant_plan_assign(operator=as_principal(request), tenant=tenant, plan=self.get_object())
        return Response(
            PlanAssignmentSerializer({"slug": tenant.slug, "plan": self.get_object().name, "assigned": True}).data
        )

    @extend_schema(request=PlanAssignSerializer, responses=PlanAssignmentSerializer)
    @action(detail=False, methods=["post"])
    def unassign(self, request):
        data = PlanAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = data.validated_data["tenant"]
        services.tenant_plan_assign(operator=as_principal(request), tenant=tenant, plan=None)
        default = plan_of(tenant.pk)
        return Response(
            PlanAssignmentSerializer(
                {"slug": tenant.slug, "plan": default.name if default else None, "assigned": False}
            ).data
        )
