"""The operator API: every tenant, quotas, suspension and the global audit trail. Staff only, by
session (API keys belong to one tenant and never reach here); each read of a tenant is audited."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.api.serializers import AuditEventSerializer
from apps.audit.filtersets import AuditEventFilterSet
from apps.audit.selectors import events_of_the_platform
from apps.clusters.selectors import cluster_list
from apps.clusters.services import cluster_check, cluster_register, cluster_traffic_set
from apps.core.audit import audit_record
from apps.core.errors import ApplicationError
from apps.tenants import services
from apps.tenants.api.serializers import QuotaSerializer
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal
from apps.tenants.selectors import backlog_of_the_platform, quotas_of_every_tenant, tenants_of_the_platform

from .serializers import (
    ClusterRegisterSerializer,
    ClusterSerializer,
    ClusterTrafficSerializer,
    OperatorBacklogSerializer,
    OperatorTenantSerializer,
    QuotaSetSerializer,
    StatusChangeSerializer,
)


class IsOperator(permissions.BasePermission):
    message = "Only platform operators may use the operator API."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff and not getattr(request.auth, "is_api_key", False))


class OperatorViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, IsOperator]


class OperatorTenantViewSet(OperatorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """All tenants. Suspending makes a tenant read-only for its members."""

    serializer_class = OperatorTenantSerializer
    lookup_field = "slug"
    queryset = tenants_of_the_platform().order_by("-id")
    filterset_fields = ["status"]

    def retrieve(self, request, *args, **kwargs):
        tenant = self.get_object()
        audit_record(actor=request.user, action="operator.view_tenant", obj=tenant)
        return Response(self.get_serializer(tenant).data)

    def _set_status(self, request, status_value):
        data = StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_set_status(
            operator=as_principal(request),
            tenant=self.get_object(),
            status=status_value,
            reason=data.validated_data["reason"],
        )
        return Response(self.get_serializer(tenants_of_the_platform().get(pk=tenant.pk)).data)

    @extend_schema(responses=OperatorBacklogSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def backlog(self, request):
        """Every tenant with deployments or builds running or waiting their turn, most waiting first."""
        return Response(OperatorBacklogSerializer(backlog_of_the_platform(), many=True).data)

    @extend_schema(request=StatusChangeSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, slug=None):
        return self._set_status(request, Tenant.Status.SUSPENDED)

    @extend_schema(request=StatusChangeSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, slug=None):
        return self._set_status(request, Tenant.Status.ACTIVE)


class OperatorQuotaViewSet(OperatorViewSet, mixins.ListModelMixin):
    """Every quota. POST sets one (creating or changing it); a limit below current usage is refused."""

    serializer_class = QuotaSerializer
    queryset = quotas_of_every_tenant()
    filterset_fields = ["resource"]

    def get_queryset(self):
        return quotas_of_every_tenant(tenant_slug=self.request.query_params.get("tenant"))

    @extend_schema(request=QuotaSetSerializer, responses={201: QuotaSerializer})
    def create(self, request):
        data = QuotaSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant, env_name = data.validated_data["tenant"], data.validated_data["environment"]
        environment = None
        if env_name:
            environment = tenant.environments.filter(name=env_name).first()
            if environment is None:
                raise ApplicationError(
                    f"{tenant.slug} has no environment “{env_name}”.", code="invalid", field="environment"
                )
        quota = services.quota_set(
            operator=as_principal(request),
            tenant=tenant,
            environment=environment,
            resource=data.validated_data["resource"],
            limit=data.validated_data["limit"],
        )
        return Response(QuotaSerializer(quota).data, status=status.HTTP_201_CREATED)


class OperatorAuditEventViewSet(OperatorViewSet, mixins.ListModelMixin):
    """The whole platform's audit trail, platform events included."""

    serializer_class = AuditEventSerializer
    queryset = events_of_the_platform()
    filterset_class = AuditEventFilterSet


class OperatorClusterViewSet(OperatorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Clusters the platform deploys to. Credentials go in and never come back out."""

    serializer_class = ClusterSerializer
    queryset = cluster_list()
    lookup_field = "name"

    @extend_schema(request=ClusterRegisterSerializer, responses={201: ClusterSerializer})
    def create(self, request):
        data = ClusterRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        credentials = {key: fields.pop(key) for key in ("kubeconfig", "context", "token", "ca_bundle")}
        cluster = cluster_register(operator=as_principal(request), credentials=credentials, **fields)
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ClusterSerializer)
    @action(detail=True, methods=["post"])
    def check(self, request, name=None):
        """Connect now: server version, API groups, and whether the portal may create namespaces and apply."""
        cluster = self.get_object()
        cluster_check(cluster=cluster)
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(request=ClusterTrafficSerializer, responses=ClusterSerializer)
    @action(detail=True, methods=["post"])
    def traffic(self, request, name=None):
        """Choose what routes become on this cluster: ingress-nginx Ingresses, or Gateway API HTTPRoutes
        attached to the named Gateway. Each route takes it on its next apply; audited."""
        data = ClusterTrafficSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster = cluster_traffic_set(operator=as_principal(request), cluster=self.get_object(), **data.validated_data)
        return Response(ClusterSerializer(cluster).data)
