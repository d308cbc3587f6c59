"""REST API for API keys: metadata, creation and rotation (the key is returned once), revocation, the
lifecycle report; their usage and plan."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys import lifecycle, selectors, services
from apps.apikeys.filtersets import UsageDailyFilterSet
from apps.apikeys.models import APIKey, UsageDaily
from apps.core import crypto
from apps.core.errors import ApplicationError
from apps.core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.principals import as_principal

from .serializers import (
    APIKeyAutoRotateSerializer,
    APIKeyCreatedSerializer,
    APIKeyCreateSerializer,
    APIKeyReportQuerySerializer,
    APIKeyReportSerializer,
    APIKeyRotateSerializer,
    APIKeySerializer,
    PlanSummarySerializer,
    UsageDailySerializer,
)


class APIKeyViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API keys (owners and admins see everyone's in their tenants). DELETE revokes at once."""

    model = APIKey
    serializer_class = APIKeySerializer

    def optimise(self, queryset):
        return queryset.select_related("tenant", "user").order_by("-id")

    @extend_schema(request=APIKeyCreateSerializer, responses={201: APIKeyCreatedSerializer})
    def create(self, request):
        data = APIKeyCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        api_key, plaintext = services.apikey_create(actor=self.principal, **data.validated_data)
        api_key.key = plaintext
        response = Response(APIKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    def perform_destroy(self, api_key):
        services.apikey_revoke(actor=self.principal, api_key=api_key)

    @extend_schema(
        request=APIKeyRotateSerializer, responses={201: APIKeyCreatedSerializer}, parameters=[IDEMPOTENCY_KEY_PARAMETER]
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        """Replace your key with a fresh one (same name, scopes, IP ranges and lifetime). The old key keeps
        working for `overlap_hours`, then fails with `key_expired`. The new key is in this response only."""
        response = self._rotate_once(request, pk=pk)
        # The stored answer a retry replays holds the key encrypted, never in the clear.
        response.data = {**response.data, "key": crypto.decrypt(response.data["key"])}
        response["Cache-Control"] = "no-store"
        return response

    @idempotent
    def _rotate_once(self, request, pk=None):
        api_key = self.get_object()
        data = APIKeyRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        successor, plaintext = services.apikey_rotate(actor=self.principal, api_key=api_key, **data.validated_data)
        successor.key = crypto.encrypt(plaintext)
        return Response(APIKeyCreatedSerializer(successor).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=APIKeyAutoRotateSerializer, responses=APIKeySerializer)
    @action(detail=True, methods=["post"], url_path="auto-rotate")
    def auto_rotate(self, request, pk=None):
        """Turn automatic rotation of your key on or off: a week before it expires the platform makes its
        successor, which you reveal once in the developer console."""
        data = APIKeyAutoRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = services.apikey_set_auto_rotate(
            actor=self.principal, api_key=self.get_object(), enabled=data.validated_data["auto_rotate"]
        )
        return Response(APIKeySerializer(api_key).data)

    @extend_schema(parameters=[APIKeyReportQuerySerializer], responses=APIKeyReportSerializer)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def report(self, request):
        """Live keys never used though older than `unused_days`, and live keys expiring within 14 days
        (owners and admins: everyone's in their tenants; others: their own). `?tenant=<slug>` narrows it."""
        query = APIKeyReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = lifecycle.key_report(self.get_queryset(), unused_days=query.validated_data["unused_days"])
        return Response(APIKeyReportSerializer(report).data)


class UsageDailyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """API-key usage per key, endpoint and UTC day (owners and admins: every key; others: their own).

    Counted in Redis and added here every minute. `export/` returns the filtered rows as CSV.
    """

    model = UsageDaily
    serializer_class = UsageDailySerializer
    filterset_class = UsageDailyFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "api_key")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        return selectors.usage_csv_response(self.filter_queryset(self.get_queryset()), name="api-usage")


class PlanView(APIView):
    """The plan in force for a tenant (the key's own, or `?tenant=<slug>` when signed in) and its consumption."""

    @extend_schema(
        parameters=[OpenApiParameter("tenant", str, description="Tenant slug; a key's tenant by default.")],
        responses=PlanSummarySerializer,
    )
    def get(self, request):
        found = selectors.plan_tenants_for(as_principal(request), slug=request.query_params.get("tenant"))
        if len(found) != 1:
            if not found:
                raise NotFound()
            raise ApplicationError(
                "You belong to several tenants; name one with ?tenant=<slug>.", code="invalid", field="tenant"
            )
        return Response(PlanSummarySerializer(selectors.plan_summary(found[0])).data)
